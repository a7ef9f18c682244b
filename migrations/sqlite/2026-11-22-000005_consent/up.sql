-- Consent: purposes and their legal bases, recipients, the consent ledger
-- with its current state, policy documents and acceptances, used
-- unsubscribe tokens, and per-client usage counters of the hot paths.
--
-- consent_heads holds each tenant's last ledger seq: updating it inside the
-- write transaction serialises ledger appends per tenant, so seq order is
-- commit order (the changes feed relies on it). Its row also marks that the
-- tenant's default purposes were made, and holds the key that signs its
-- unsubscribe links.

CREATE TABLE consent_heads (
    tenant_id        TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    unsubscribe_key  BLOB    NOT NULL,
    created_at       TEXT    NOT NULL
) STRICT;

CREATE TABLE consent_recipients (
    tenant_id           TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                  TEXT    NOT NULL,
    name                TEXT    NOT NULL,
    role                TEXT    NOT NULL CHECK (role IN ('processor', 'controller', 'authority')),
    country             TEXT    NOT NULL,
    in_eea              INTEGER NOT NULL,
    transfer_mechanism  TEXT,
    version             INTEGER NOT NULL,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;

-- data_categories is a JSON array of catalogue names.
CREATE TABLE consent_purposes (
    tenant_id        TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key              TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    description      TEXT    NOT NULL,
    legal_basis      TEXT    NOT NULL CHECK (legal_basis IN ('consent', 'contract', 'legal_obligation', 'vital_interests', 'public_task', 'legitimate_interests')),
    data_categories  TEXT    NOT NULL,
    retention        TEXT    NOT NULL,
    version          INTEGER NOT NULL,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, key)
) STRICT;

-- Deleting a purpose or recipient that is still referenced is refused by
-- the domain (409); the cascades only serve deleting the whole tenant.
CREATE TABLE consent_purpose_recipients (
    tenant_id     TEXT NOT NULL,
    purpose_key   TEXT NOT NULL,
    recipient_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, purpose_key, recipient_id),
    FOREIGN KEY (tenant_id, purpose_key) REFERENCES consent_purposes (tenant_id, key) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, recipient_id) REFERENCES consent_recipients (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX consent_purpose_recipients_recipient_idx ON consent_purpose_recipients (tenant_id, recipient_id);

-- The ledger: append-only. ip_prefix is truncated (IPv4 /16, IPv6 /48).
CREATE TABLE consent_events (
    tenant_id       TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    id              TEXT    NOT NULL,
    person_id       TEXT    NOT NULL,
    purpose         TEXT    NOT NULL,
    action          TEXT    NOT NULL CHECK (action IN ('grant', 'withdraw', 'object')),
    source          TEXT    NOT NULL CHECK (source IN ('web', 'app', 'import', 'admin', 'unsubscribe', 'self')),
    policy_version  INTEGER,
    ip_prefix       TEXT,
    user_agent      TEXT,
    actor_kind      TEXT    NOT NULL,
    actor_id        TEXT    NOT NULL,
    occurred_at     TEXT    NOT NULL,
    expires_at      TEXT,
    recorded_at     TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, seq),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, purpose) REFERENCES consent_purposes (tenant_id, key) ON DELETE CASCADE
) STRICT;
CREATE UNIQUE INDEX consent_events_id_key ON consent_events (tenant_id, id);
CREATE INDEX consent_events_person_idx ON consent_events (tenant_id, person_id, seq);
CREATE INDEX consent_events_purpose_idx ON consent_events (tenant_id, purpose, seq);

-- The current state per person and purpose, updated with each event:
-- the check reads one row by primary key.
CREATE TABLE consent_states (
    tenant_id    TEXT    NOT NULL,
    person_id    TEXT    NOT NULL,
    purpose      TEXT    NOT NULL,
    action       TEXT    NOT NULL CHECK (action IN ('grant', 'withdraw', 'object')),
    decided_at   TEXT    NOT NULL,
    decided_seq  INTEGER NOT NULL,
    expires_at   TEXT,
    objected_at  TEXT,
    lifted_at    TEXT,
    updated_at   TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, person_id, purpose),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, purpose) REFERENCES consent_purposes (tenant_id, key) ON DELETE CASCADE
) STRICT;
CREATE INDEX consent_states_purpose_idx ON consent_states (tenant_id, purpose);

CREATE TABLE consent_policy_versions (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL CHECK (kind IN ('terms', 'privacy', 'cookies')),
    version       INTEGER NOT NULL,
    title         TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    material      INTEGER NOT NULL,
    published_at  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, kind, version)
) STRICT;

CREATE TABLE consent_acceptances (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    person_id    TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    source       TEXT    NOT NULL CHECK (source IN ('web', 'app', 'import', 'admin', 'self')),
    ip_prefix    TEXT,
    user_agent   TEXT,
    accepted_at  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, kind, version) REFERENCES consent_policy_versions (tenant_id, kind, version) ON DELETE CASCADE
) STRICT;
CREATE INDEX consent_acceptances_person_idx ON consent_acceptances (tenant_id, person_id, kind);
CREATE INDEX consent_acceptances_version_idx ON consent_acceptances (tenant_id, kind, version);

-- Unsubscribe tokens already used, by the SHA-256 of their payload, kept
-- until they expire so that each works once.
CREATE TABLE consent_unsubscribes (
    tenant_id   TEXT NOT NULL,
    token_hash  BLOB NOT NULL,
    person_id   TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX consent_unsubscribes_person_idx ON consent_unsubscribes (tenant_id, person_id);
CREATE INDEX consent_unsubscribes_expires_idx ON consent_unsubscribes (tenant_id, expires_at);

-- Checks and feed pages are not audited one by one: counted per client and day.
CREATE TABLE consent_usage (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day        TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('check', 'changes')),
    count      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, day, client_id, kind)
) STRICT;
