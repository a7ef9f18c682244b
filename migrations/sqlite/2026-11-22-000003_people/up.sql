-- People and their contacts, references held by apps, and idempotency keys.
-- The *_key columns hold lowercased copies for case-insensitive search and
-- uniqueness; ranges over them use the btree indexes on both backends.

CREATE TABLE people (
    tenant_id       TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              TEXT    NOT NULL,
    salutation      TEXT,
    first_name      TEXT,
    last_name       TEXT,
    nickname        TEXT,
    date_of_birth   TEXT,
    language        TEXT,
    company_name    TEXT,
    coc_number      TEXT,
    vat_number      TEXT,
    first_name_key  TEXT,
    last_name_key   TEXT,
    full_name_key   TEXT,
    company_key     TEXT,
    version         INTEGER NOT NULL,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX people_first_name_idx ON people (tenant_id, first_name_key);
CREATE INDEX people_last_name_idx ON people (tenant_id, last_name_key);
CREATE INDEX people_full_name_idx ON people (tenant_id, full_name_key);
CREATE INDEX people_company_idx ON people (tenant_id, company_key);

CREATE TABLE person_emails (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    person_id    TEXT    NOT NULL,
    address      TEXT    NOT NULL,
    address_key  TEXT    NOT NULL,
    label        TEXT    NOT NULL CHECK (label IN ('work', 'private', 'other')),
    is_primary   INTEGER NOT NULL,
    verified_at  TEXT,
    version      INTEGER NOT NULL,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE UNIQUE INDEX person_emails_address_key ON person_emails (tenant_id, address_key);
CREATE INDEX person_emails_person_idx ON person_emails (tenant_id, person_id);

CREATE TABLE person_phones (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    person_id    TEXT    NOT NULL,
    number       TEXT    NOT NULL,
    label        TEXT    NOT NULL CHECK (label IN ('work', 'private', 'home', 'other')),
    is_primary   INTEGER NOT NULL,
    verified_at  TEXT,
    version      INTEGER NOT NULL,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX person_phones_person_idx ON person_phones (tenant_id, person_id);

CREATE TABLE person_addresses (
    tenant_id     TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    person_id     TEXT    NOT NULL,
    street        TEXT,
    house_number  TEXT,
    addition      TEXT,
    postal_code   TEXT,
    city          TEXT,
    region        TEXT,
    country       TEXT    NOT NULL,
    label         TEXT    NOT NULL CHECK (label IN ('work', 'private', 'other')),
    is_primary    INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX person_addresses_person_idx ON person_addresses (tenant_id, person_id);

CREATE TABLE person_websites (
    tenant_id   TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    person_id   TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    label       TEXT    NOT NULL CHECK (label IN ('work', 'private', 'other')),
    is_primary  INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX person_websites_person_idx ON person_websites (tenant_id, person_id);

CREATE TABLE person_references (
    tenant_id     TEXT NOT NULL,
    id            TEXT NOT NULL,
    person_id     TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    app           TEXT NOT NULL,
    external_ref  TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX person_references_person_idx ON person_references (tenant_id, person_id);
CREATE UNIQUE INDEX person_references_key ON person_references (tenant_id, person_id, client_id, app, external_ref);

-- Replays of POSTs with an Idempotency-Key, per caller, for 24 hours.
-- tenant_id is empty for the operator.
CREATE TABLE idempotency_keys (
    tenant_id     TEXT    NOT NULL,
    caller_id     TEXT    NOT NULL,
    key           TEXT    NOT NULL,
    request_hash  TEXT    NOT NULL,
    status        INTEGER,
    headers       TEXT,
    body          BLOB,
    created_at    TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, caller_id, key)
) STRICT;
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (tenant_id, created_at);
