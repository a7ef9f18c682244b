-- Backups: tenant archives kept by kluis (in <data_dir>/backups or an S3
-- bucket), made on a schedule or on request, rotated per tenant. A backup's
-- row names its object; it has no foreign key to `tenants` so that a backup
-- outlives its tenant and can bring it back.

CREATE TABLE tenant_backups (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    origin       TEXT    NOT NULL CHECK (origin IN ('manual', 'schedule')),
    actor_id     TEXT    NOT NULL,
    storage      TEXT    NOT NULL CHECK (storage IN ('local', 's3')),
    object_key   TEXT    NOT NULL,
    bytes        INTEGER NOT NULL,
    manifest     TEXT,
    error        TEXT,
    version      INTEGER NOT NULL,
    created_at   TEXT    NOT NULL,
    finished_at  TEXT,
    PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE INDEX tenant_backups_by_time ON tenant_backups (tenant_id, created_at);

-- Per tenant: how many backups rotation keeps, and the schedule's lease, so
-- that instances sharing a database never back up one tenant twice at once.
CREATE TABLE backup_schedules (
    tenant_id     TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    keep_daily    INTEGER NOT NULL,
    keep_weekly   INTEGER NOT NULL,
    keep_monthly  INTEGER NOT NULL,
    last_run_at   TEXT,
    lease_owner   TEXT,
    lease_until   TEXT,
    version       INTEGER NOT NULL,
    updated_at    TEXT    NOT NULL
) STRICT;
