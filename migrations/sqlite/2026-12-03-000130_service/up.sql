-- Serviced devices (VTS, ITfixe): a device or account taken in for repair,
-- installation or configuration, with what was asked and where it stands.
CREATE TABLE service_items (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    person_id    TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('laptop', 'desktop', 'phone', 'tablet', 'printer', 'server', 'network', 'storage', 'account', 'other')),
    make         TEXT,
    model        TEXT,
    serial       TEXT,
    request      TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('received', 'in_progress', 'ready', 'returned')),
    received_at  TEXT    NOT NULL,
    ready_at     TEXT,
    returned_at  TEXT,
    version      INTEGER NOT NULL,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX service_items_person_idx ON service_items (tenant_id, person_id, id);

-- Logins and secrets of a customer's devices and accounts: the secret is
-- sealed (AES-256-GCM under a per-tenant key derived from the master key,
-- bound to the row), never stored or returned in clear. Deleted when the
-- item is returned.
CREATE TABLE service_credentials (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    item_id      TEXT    NOT NULL,
    person_id    TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('google_account', 'apple_id', 'microsoft_account', 'server', 'device', 'email', 'wifi', 'other')),
    label        TEXT    NOT NULL,
    login        TEXT    NOT NULL,
    secret       BLOB    NOT NULL,
    revealed_at  TEXT,
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, item_id) REFERENCES service_items (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX service_credentials_item_idx ON service_credentials (tenant_id, item_id, id);
CREATE INDEX service_credentials_person_idx ON service_credentials (tenant_id, person_id);

-- Records of backups of a customer's disks and partitions: kept until the
-- data is restored or the item returned (event-based retention).
CREATE TABLE service_backups (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    item_id      TEXT    NOT NULL,
    person_id    TEXT    NOT NULL,
    location     TEXT    NOT NULL,
    size_bytes   INTEGER,
    checksum     TEXT,
    encrypted    INTEGER NOT NULL CHECK (encrypted IN (0, 1)),
    made_at      TEXT    NOT NULL,
    restored_at  TEXT,
    reminded_at  TEXT,
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, item_id) REFERENCES service_items (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX service_backups_item_idx ON service_backups (tenant_id, item_id, id);
CREATE INDEX service_backups_person_idx ON service_backups (tenant_id, person_id);

-- Notes per customer (VTS: contracts, configuration of the work
-- environment), each typed and in a data category of the catalogue.
CREATE TABLE service_notes (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    person_id    TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('contract', 'configuration', 'installation', 'user_data', 'other')),
    category     TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX service_notes_person_idx ON service_notes (tenant_id, person_id, id);

-- Event-based retention: a policy may count from when a customer-data
-- backup was restored or its item returned. SQLite cannot change a CHECK
-- constraint: the table is rebuilt with the new start allowed.
CREATE TABLE retention_policies_v2 (
    tenant_id   TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    category    TEXT,
    purpose     TEXT,
    period      TEXT,
    start       TEXT    NOT NULL CHECK (start IN ('created', 'last_activity', 'consent_withdrawn', 'consent_expired', 'restored_or_returned')),
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
INSERT INTO retention_policies_v2 SELECT * FROM retention_policies;
DROP TABLE retention_policies;
ALTER TABLE retention_policies_v2 RENAME TO retention_policies;
CREATE INDEX retention_policies_purpose_idx ON retention_policies (tenant_id, purpose);
