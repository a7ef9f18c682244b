DROP TABLE people_changes;
DROP TABLE people_change_heads;

DELETE FROM consent_events WHERE source = 'gpc';
ALTER TABLE consent_events DROP CONSTRAINT consent_events_source_check;
ALTER TABLE consent_events ADD CONSTRAINT consent_events_source_check
    CHECK (source IN ('web', 'app', 'import', 'admin', 'unsubscribe', 'self'));

ALTER TABLE consent_purposes DROP COLUMN gpc;
