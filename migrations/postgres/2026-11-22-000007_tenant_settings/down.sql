ALTER TABLE tenants DROP COLUMN device_step_up;
ALTER TABLE tenants DROP COLUMN require_staff_totp;
