-- Foundation: tenants, their API clients, the operator's clients, and the
-- token signing keys. SQLite: STRICT tables; timestamps are TEXT in UTC.

CREATE TABLE tenants (
    id          TEXT    NOT NULL PRIMARY KEY,
    slug        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('active', 'suspended')),
    version     INTEGER NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
) STRICT;
CREATE UNIQUE INDEX tenants_slug_key ON tenants (slug);

CREATE TABLE operator_clients (
    id                  TEXT NOT NULL PRIMARY KEY,
    name                TEXT NOT NULL,
    secret_hash         BLOB NOT NULL,
    tokens_valid_after  TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    revoked_at          TEXT
) STRICT;

CREATE TABLE api_clients (
    tenant_id           TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                  TEXT    NOT NULL,
    name                TEXT    NOT NULL,
    scopes              TEXT    NOT NULL,
    purposes            TEXT    NOT NULL,
    secret_hash         BLOB    NOT NULL,
    tokens_valid_after  TEXT    NOT NULL,
    version             INTEGER NOT NULL,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL,
    revoked_at          TEXT,
    PRIMARY KEY (tenant_id, id)
) STRICT;
-- The token endpoint is the one place a caller names a client without its
-- tenant; every other query filters on tenant_id first.
CREATE INDEX api_clients_id_idx ON api_clients (id);

CREATE TABLE signing_keys (
    id           TEXT NOT NULL PRIMARY KEY,
    algorithm    TEXT NOT NULL,
    public_key   BLOB NOT NULL,
    private_key  BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    retired_at   TEXT
) STRICT;
