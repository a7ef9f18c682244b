-- Tenant archives: the export jobs started over HTTP. The archive itself is
-- a file in the data directory; this row tracks its progress and, once
-- done, its manifest (per-table row counts and digests).

CREATE TABLE tenant_exports (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    key_kind      TEXT    NOT NULL CHECK (key_kind IN ('master', 'passphrase')),
    actor_id      TEXT    NOT NULL,
    tables_total  INTEGER NOT NULL,
    tables_done   INTEGER NOT NULL,
    rows_total    INTEGER NOT NULL,
    rows_done     INTEGER NOT NULL,
    bytes         INTEGER NOT NULL,
    manifest      TEXT,
    error         TEXT,
    version       INTEGER NOT NULL,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    finished_at   TEXT,
    PRIMARY KEY (tenant_id, id)
) STRICT;
