DROP TABLE visits;
DELETE FROM challenges WHERE kind = 'email_code';
ALTER TABLE challenges DROP COLUMN pending_device;
ALTER TABLE challenges DROP COLUMN code_hash;
ALTER TABLE challenges DROP CONSTRAINT challenges_kind_check;
ALTER TABLE challenges ADD CONSTRAINT challenges_kind_check CHECK (kind IN ('totp', 'password_change'));
ALTER TABLE sessions DROP COLUMN device_id;
DROP TABLE devices;
