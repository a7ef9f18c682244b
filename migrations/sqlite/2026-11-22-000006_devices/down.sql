DROP TABLE visits;
CREATE TABLE challenges_old (
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
INSERT INTO challenges_old SELECT tenant_id, id, person_id, kind, tries, expires_at, created_at FROM challenges WHERE kind != 'email_code';
DROP TABLE challenges;
ALTER TABLE challenges_old RENAME TO challenges;
CREATE INDEX challenges_id_idx ON challenges (id);
CREATE INDEX challenges_person_idx ON challenges (tenant_id, person_id);
ALTER TABLE sessions DROP COLUMN device_id;
DROP TABLE devices;
