ALTER TABLE tenants DROP COLUMN reset_password_url;
ALTER TABLE tenants DROP COLUMN verify_email_url;
