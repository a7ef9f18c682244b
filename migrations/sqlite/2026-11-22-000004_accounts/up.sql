-- Accounts and sign-in: one account per person, recovery codes, single-use
-- tokens, challenges, sessions with rotating refresh tokens, and the outbox
-- of messages to deliver. Secrets are stored only as SHA-256 hashes (tokens,
-- codes) or sealed under the master key (TOTP seeds, outgoing messages).

CREATE TABLE accounts (
    tenant_id             TEXT    NOT NULL,
    person_id             TEXT    NOT NULL,
    username              TEXT,
    username_key          TEXT,
    password_hash         TEXT,
    status                TEXT    NOT NULL CHECK (status IN ('active', 'blocked')),
    must_change_password  INTEGER NOT NULL,
    staff_scopes          TEXT    NOT NULL,
    totp_seed             BLOB,
    totp_enabled          INTEGER NOT NULL,
    totp_last_step        INTEGER,
    failed_count          INTEGER NOT NULL,
    failed_window_start   TEXT,
    password_changed_at   TEXT,
    version               INTEGER NOT NULL,
    created_at            TEXT    NOT NULL,
    updated_at            TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, person_id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE UNIQUE INDEX accounts_username_key ON accounts (tenant_id, username_key);

CREATE TABLE recovery_codes (
    tenant_id   TEXT NOT NULL,
    person_id   TEXT NOT NULL,
    code_hash   BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, person_id, code_hash),
    FOREIGN KEY (tenant_id, person_id) REFERENCES accounts (tenant_id, person_id) ON DELETE CASCADE
) STRICT;

-- Tokens are redeemed without naming a tenant: the hash alone finds them.
CREATE TABLE auth_tokens (
    tenant_id   TEXT NOT NULL,
    token_hash  BLOB NOT NULL,
    person_id   TEXT NOT NULL,
    purpose     TEXT NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
    email_id    TEXT,
    expires_at  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, person_id) REFERENCES accounts (tenant_id, person_id) ON DELETE CASCADE
) STRICT;
CREATE INDEX auth_tokens_hash_idx ON auth_tokens (token_hash);
CREATE INDEX auth_tokens_person_idx ON auth_tokens (tenant_id, person_id);

CREATE TABLE challenges (
    tenant_id   TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    person_id   TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('totp', 'password_change')),
    tries       INTEGER NOT NULL,
    expires_at  TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES accounts (tenant_id, person_id) ON DELETE CASCADE
) STRICT;
CREATE INDEX challenges_id_idx ON challenges (id);
CREATE INDEX challenges_person_idx ON challenges (tenant_id, person_id);

CREATE TABLE sessions (
    tenant_id     TEXT NOT NULL,
    id            TEXT NOT NULL,
    person_id     TEXT NOT NULL,
    ip_prefix     TEXT,
    user_agent    TEXT,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    revoked_at    TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES accounts (tenant_id, person_id) ON DELETE CASCADE
) STRICT;
CREATE INDEX sessions_person_idx ON sessions (tenant_id, person_id);

-- Every refresh token a session was given; a used one presented again
-- means it was stolen, and ends the session.
CREATE TABLE refresh_tokens (
    tenant_id   TEXT NOT NULL,
    token_hash  BLOB NOT NULL,
    session_id  TEXT NOT NULL,
    used_at     TEXT,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX refresh_tokens_hash_idx ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (tenant_id, session_id);

-- Outgoing messages, written in the transaction of the change that causes
-- them and delivered by a worker; the payload is sealed (it holds an address
-- and often a single-use token).
CREATE TABLE outbox (
    tenant_id        TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               TEXT    NOT NULL,
    person_id        TEXT,
    channel          TEXT    NOT NULL,
    payload          BLOB    NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  TEXT    NOT NULL,
    last_error       TEXT,
    created_at       TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at);
CREATE INDEX outbox_person_idx ON outbox (tenant_id, person_id);
