-- Mails a person can act on: where the tenant's verification and reset
-- mails link to (`{token}` marks the token's place); null: the mail
-- carries only the code.
ALTER TABLE tenants ADD COLUMN verify_email_url TEXT;
ALTER TABLE tenants ADD COLUMN reset_password_url TEXT;
