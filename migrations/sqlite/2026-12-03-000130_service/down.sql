-- Policies counting from the serviced-device events go with the start.
DELETE FROM retention_policies WHERE start = 'restored_or_returned';
CREATE TABLE retention_policies_v1 (
    tenant_id   TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    category    TEXT,
    purpose     TEXT,
    period      TEXT,
    start       TEXT    NOT NULL CHECK (start IN ('created', 'last_activity', 'consent_withdrawn', 'consent_expired')),
    action      TEXT    NOT NULL CHECK (action IN ('delete', 'anonymise')),
    version     INTEGER NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK ((category IS NULL) <> (purpose IS NULL)),
    CHECK (purpose IS NOT NULL OR period IS NOT NULL),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, purpose) REFERENCES consent_purposes (tenant_id, key) ON DELETE CASCADE
) STRICT;
INSERT INTO retention_policies_v1 SELECT * FROM retention_policies;
DROP TABLE retention_policies;
ALTER TABLE retention_policies_v1 RENAME TO retention_policies;
CREATE INDEX retention_policies_purpose_idx ON retention_policies (tenant_id, purpose);
DROP TABLE service_notes;
DROP TABLE service_backups;
DROP TABLE service_credentials;
DROP TABLE service_items;
