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
    received_at  TIMESTAMP    NOT NULL,
    ready_at     TIMESTAMP,
    returned_at  TIMESTAMP,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMP    NOT NULL,
    updated_at   TIMESTAMP    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
);
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
    secret       BYTEA    NOT NULL,
    revealed_at  TIMESTAMP,
    created_at   TIMESTAMP    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, item_id) REFERENCES service_items (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
);
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
    size_bytes   BIGINT,
    checksum     TEXT,
    encrypted    BOOLEAN NOT NULL,
    made_at      TIMESTAMP    NOT NULL,
    restored_at  TIMESTAMP,
    reminded_at  TIMESTAMP,
    created_at   TIMESTAMP    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, item_id) REFERENCES service_items (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
);
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
    version      BIGINT NOT NULL,
    created_at   TIMESTAMP    NOT NULL,
    updated_at   TIMESTAMP    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX service_notes_person_idx ON service_notes (tenant_id, person_id, id);

-- Event-based retention: a policy may count from when a customer-data
-- backup was restored or its item returned.
ALTER TABLE retention_policies DROP CONSTRAINT retention_policies_start_check;
ALTER TABLE retention_policies ADD CONSTRAINT retention_policies_start_check CHECK (start IN ('created', 'last_activity', 'consent_withdrawn', 'consent_expired', 'restored_or_returned'));
