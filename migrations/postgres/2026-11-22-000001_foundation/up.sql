-- Foundation: tenants, their API clients, the operator's clients, and the
-- token signing keys. Timestamps are UTC without time zone.

CREATE TABLE tenants (
    id          TEXT      NOT NULL PRIMARY KEY,
    slug        TEXT      NOT NULL,
    name        TEXT      NOT NULL,
    status      TEXT      NOT NULL CHECK (status IN ('active', 'suspended')),
    version     BIGINT    NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX tenants_slug_key ON tenants (slug);

CREATE TABLE operator_clients (
    id                  TEXT      NOT NULL PRIMARY KEY,
    name                TEXT      NOT NULL,
    secret_hash         BYTEA     NOT NULL,
    tokens_valid_after  TIMESTAMP NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    revoked_at          TIMESTAMP
);

CREATE TABLE api_clients (
    tenant_id           TEXT      NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                  TEXT      NOT NULL,
    name                TEXT      NOT NULL,
    scopes              TEXT      NOT NULL,
    purposes            TEXT      NOT NULL,
    secret_hash         BYTEA     NOT NULL,
    tokens_valid_after  TIMESTAMP NOT NULL,
    version             BIGINT    NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    revoked_at          TIMESTAMP,
    PRIMARY KEY (tenant_id, id)
);
-- The token endpoint is the one place a caller names a client without its
-- tenant; every other query filters on tenant_id first.
CREATE INDEX api_clients_id_idx ON api_clients (id);

CREATE TABLE signing_keys (
    id           TEXT      NOT NULL PRIMARY KEY,
    algorithm    TEXT      NOT NULL,
    public_key   BYTEA     NOT NULL,
    private_key  BYTEA     NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    retired_at   TIMESTAMP
);
