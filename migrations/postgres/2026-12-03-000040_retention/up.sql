-- Retention: the ceiling the operator agrees with a tenant, the tenant's
-- policies, its retention head (defaults seeded once; the sweep lease that
-- keeps two instances from sweeping one tenant at once) and the record of
-- every sweep.

ALTER TABLE tenants ADD COLUMN max_retention TEXT;

CREATE TABLE retention_heads (
    tenant_id         TEXT NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    seeded_at         TIMESTAMP NOT NULL,
    lease_holder      TEXT,
    lease_expires_at  TIMESTAMP
);

CREATE TABLE retention_policies (
    tenant_id   TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    category    TEXT,
    purpose     TEXT,
    period      TEXT,
    start       TEXT    NOT NULL CHECK (start IN ('created', 'last_activity', 'consent_withdrawn', 'consent_expired')),
    action      TEXT    NOT NULL CHECK (action IN ('delete', 'anonymise')),
    version     BIGINT  NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK ((category IS NULL) <> (purpose IS NULL)),
    CHECK (purpose IS NOT NULL OR period IS NOT NULL),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, purpose) REFERENCES consent_purposes (tenant_id, key) ON DELETE CASCADE
);
CREATE INDEX retention_policies_purpose_idx ON retention_policies (tenant_id, purpose);

CREATE TABLE retention_sweeps (
    tenant_id    TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           TEXT    NOT NULL,
    trigger      TEXT    NOT NULL CHECK (trigger IN ('api', 'schedule', 'cli')),
    actor_id     TEXT    NOT NULL,
    dry_run      BOOLEAN NOT NULL,
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP NOT NULL,
    duration_ms  BIGINT  NOT NULL,
    total        BIGINT  NOT NULL,
    report       TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX sessions_idle_idx ON sessions (tenant_id, last_used_at);
