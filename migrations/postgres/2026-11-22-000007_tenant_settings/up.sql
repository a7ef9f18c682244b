-- Per-tenant sign-in settings: staff must enrol TOTP before their staff
-- scopes are granted, and an unfamiliar device must step up by e-mail.
-- Both on by default.
ALTER TABLE tenants ADD COLUMN require_staff_totp BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE tenants ADD COLUMN device_step_up BOOLEAN NOT NULL DEFAULT TRUE;
