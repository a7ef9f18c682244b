-- Tenant-defined attributes: the tenant's definitions (type, validation,
-- data category, purposes, whether a person edits it themselves) and each
-- person's values, one row per person and key (the value as JSON text).
CREATE TABLE attribute_definitions (
    tenant_id      TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key            TEXT    NOT NULL,
    value_type     TEXT    NOT NULL CHECK (value_type IN ('string', 'enum', 'number', 'boolean', 'date', 'url')),
    description    TEXT,
    category       TEXT    NOT NULL,
    purposes       TEXT    NOT NULL,
    rules          TEXT    NOT NULL,
    self_editable  INTEGER NOT NULL,
    version        INTEGER NOT NULL,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, key)
) STRICT;

CREATE TABLE person_attributes (
    tenant_id   TEXT NOT NULL,
    person_id   TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, person_id, key),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, key) REFERENCES attribute_definitions (tenant_id, key)
) STRICT;
CREATE INDEX person_attributes_key_idx ON person_attributes (tenant_id, key);

-- The new `people:admin` scope: a tenant's first admin client (made with
-- every tenant scope) gets it as tenants made from now on do.
UPDATE api_clients SET scopes = scopes || ' people:admin'
 WHERE name = 'admin' AND scopes LIKE '%clients:admin%' AND scopes NOT LIKE '%people:admin%';
