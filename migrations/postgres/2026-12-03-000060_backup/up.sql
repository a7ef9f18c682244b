-- Tenant archives: the export jobs started over HTTP. The archive itself is
-- a file in the data directory; this row tracks its progress and, once
-- done, its manifest (per-table row counts and digests).

CREATE TABLE tenant_exports (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    key_kind      TEXT    NOT NULL CHECK (key_kind IN ('master', 'passphrase')),
    actor_id      TEXT    NOT NULL,
    tables_total  BIGINT  NOT NULL,
    tables_done   BIGINT  NOT NULL,
    rows_total    BIGINT  NOT NULL,
    rows_done     BIGINT  NOT NULL,
    bytes         BIGINT  NOT NULL,
    manifest      TEXT,
    error         TEXT,
    version       BIGINT  NOT NULL,
    created_at    TIMESTAMP   NOT NULL,
    updated_at    TIMESTAMP   NOT NULL,
    finished_at   TIMESTAMP,
    PRIMARY KEY (tenant_id, id)
);
