DROP INDEX sessions_passkey_idx;
ALTER TABLE sessions DROP COLUMN passkey_id;
DROP TABLE passkey_ceremonies;
DROP TABLE passkeys;
ALTER TABLE tenants DROP COLUMN passkey_origins;
ALTER TABLE tenants DROP COLUMN passkey_rp_id;
