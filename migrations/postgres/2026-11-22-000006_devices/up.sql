-- Devices people sign in from (kept for account security, so the IP is kept
-- whole), the step-up challenge for an unfamiliar one, and visit statistics
-- that never hold a person, a cookie or a full IP.

CREATE TABLE devices (
    tenant_id         TEXT      NOT NULL,
    id                TEXT      NOT NULL,
    person_id         TEXT      NOT NULL,
    key_hash          BYTEA     NOT NULL,
    ip                TEXT,
    user_agent        TEXT,
    client_hints      TEXT,
    screen_width      BIGINT,
    screen_height     BIGINT,
    language          TEXT,
    browser           TEXT,
    browser_version   TEXT,
    os                TEXT,
    os_version        TEXT,
    device_type       TEXT      NOT NULL,
    vendor            TEXT,
    model             TEXT,
    first_seen_at     TIMESTAMP NOT NULL,
    last_login_at     TIMESTAMP NOT NULL,
    last_activity_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX devices_person_idx ON devices (tenant_id, person_id);
CREATE UNIQUE INDEX devices_key_idx ON devices (tenant_id, key_hash);
CREATE INDEX devices_activity_idx ON devices (tenant_id, last_activity_at);

ALTER TABLE sessions ADD COLUMN device_id TEXT;

ALTER TABLE challenges DROP CONSTRAINT challenges_kind_check;
ALTER TABLE challenges ADD CONSTRAINT challenges_kind_check CHECK (kind IN ('totp', 'password_change', 'email_code'));
ALTER TABLE challenges ADD COLUMN code_hash BYTEA;
ALTER TABLE challenges ADD COLUMN pending_device TEXT;

CREATE TABLE visits (
    tenant_id  TEXT   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day        TEXT   NOT NULL,
    path       TEXT   NOT NULL,
    ip_prefix  TEXT   NOT NULL,
    ua_family  TEXT   NOT NULL,
    count      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, day, path, ip_prefix, ua_family)
);
