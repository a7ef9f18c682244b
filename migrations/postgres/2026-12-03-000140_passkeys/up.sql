-- Passkeys (WebAuthn): the tenant's relying party (its RP ID and the
-- origins allowed to use it; passkeys are off until both are set), each
-- person's registered credentials, the ceremonies in flight (the serialised
-- state of a registration or sign-in, found by the SHA-256 of its challenge,
-- for 5 minutes and once), and on each session the passkey that started it.
ALTER TABLE tenants ADD COLUMN passkey_rp_id TEXT;
ALTER TABLE tenants ADD COLUMN passkey_origins TEXT;

CREATE TABLE passkeys (
    tenant_id      TEXT    NOT NULL,
    id             TEXT    NOT NULL,
    person_id      TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    credential_id  TEXT    NOT NULL,
    user_handle    TEXT    NOT NULL,
    credential     TEXT    NOT NULL,
    aaguid         TEXT,
    created_at     TIMESTAMP NOT NULL,
    last_used_at   TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES accounts (tenant_id, person_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX passkeys_credential_key ON passkeys (tenant_id, credential_id);
CREATE INDEX passkeys_person_idx ON passkeys (tenant_id, person_id);

CREATE TABLE passkey_ceremonies (
    tenant_id       TEXT    NOT NULL,
    challenge_hash  BYTEA NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('registration', 'authentication')),
    person_id       TEXT,
    state           TEXT    NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, challenge_hash),
    FOREIGN KEY (tenant_id, person_id) REFERENCES accounts (tenant_id, person_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX passkey_ceremonies_person_idx ON passkey_ceremonies (tenant_id, person_id);

ALTER TABLE sessions ADD COLUMN passkey_id TEXT;
CREATE INDEX sessions_passkey_idx ON sessions (tenant_id, passkey_id);
