DROP TABLE people_changes;
DROP TABLE people_change_heads;

DELETE FROM consent_events WHERE source = 'gpc';
CREATE TABLE consent_events_old (
    tenant_id       TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    id              TEXT    NOT NULL,
    person_id       TEXT    NOT NULL,
    purpose         TEXT    NOT NULL,
    action          TEXT    NOT NULL CHECK (action IN ('grant', 'withdraw', 'object')),
    source          TEXT    NOT NULL CHECK (source IN ('web', 'app', 'import', 'admin', 'unsubscribe', 'self')),
    policy_version  INTEGER,
    ip_prefix       TEXT,
    user_agent      TEXT,
    actor_kind      TEXT    NOT NULL,
    actor_id        TEXT    NOT NULL,
    occurred_at     TEXT    NOT NULL,
    expires_at      TEXT,
    recorded_at     TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, seq),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, purpose) REFERENCES consent_purposes (tenant_id, key) ON DELETE CASCADE
) STRICT;
INSERT INTO consent_events_old SELECT * FROM consent_events;
DROP TABLE consent_events;
ALTER TABLE consent_events_old RENAME TO consent_events;
CREATE UNIQUE INDEX consent_events_id_key ON consent_events (tenant_id, id);
CREATE INDEX consent_events_person_idx ON consent_events (tenant_id, person_id, seq);
CREATE INDEX consent_events_purpose_idx ON consent_events (tenant_id, purpose, seq);

ALTER TABLE consent_purposes DROP COLUMN gpc;
