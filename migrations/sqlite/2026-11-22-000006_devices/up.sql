-- Devices people sign in from (kept for account security, so the IP is kept
-- whole), the step-up challenge for an unfamiliar one, and visit statistics
-- that never hold a person, a cookie or a full IP.

CREATE TABLE devices (
    tenant_id         TEXT    NOT NULL,
    id                TEXT    NOT NULL,
    person_id         TEXT    NOT NULL,
    key_hash          BLOB    NOT NULL,
    ip                TEXT,
    user_agent        TEXT,
    client_hints      TEXT,
    screen_width      INTEGER,
    screen_height     INTEGER,
    language          TEXT,
    browser           TEXT,
    browser_version   TEXT,
    os                TEXT,
    os_version        TEXT,
    device_type       TEXT    NOT NULL,
    vendor            TEXT,
    model             TEXT,
    first_seen_at     TEXT    NOT NULL,
    last_login_at     TEXT    NOT NULL,
    last_activity_at  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX devices_person_idx ON devices (tenant_id, person_id);
CREATE UNIQUE INDEX devices_key_idx ON devices (tenant_id, key_hash);
CREATE INDEX devices_activity_idx ON devices (tenant_id, last_activity_at);

ALTER TABLE sessions ADD COLUMN device_id TEXT;

-- SQLite cannot change a CHECK: rebuild challenges with the email_code kind,
-- the code's hash and the device awaiting trust.
CREATE TABLE challenges_new (
    tenant_id       TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    person_id       TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('totp', 'password_change', 'email_code')),
    tries           INTEGER NOT NULL,
    code_hash       BLOB,
    pending_device  TEXT,
    expires_at      TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES accounts (tenant_id, person_id) ON DELETE CASCADE
) STRICT;
INSERT INTO challenges_new (tenant_id, id, person_id, kind, tries, expires_at, created_at)
    SELECT tenant_id, id, person_id, kind, tries, expires_at, created_at FROM challenges;
DROP TABLE challenges;
ALTER TABLE challenges_new RENAME TO challenges;
CREATE INDEX challenges_id_idx ON challenges (id);
CREATE INDEX challenges_person_idx ON challenges (tenant_id, person_id);

CREATE TABLE visits (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day        TEXT    NOT NULL,
    path       TEXT    NOT NULL,
    ip_prefix  TEXT    NOT NULL,
    ua_family  TEXT    NOT NULL,
    count      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, day, path, ip_prefix, ua_family)
) STRICT;
