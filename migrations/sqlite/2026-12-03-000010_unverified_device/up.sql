-- What sign-in does with an unfamiliar device when the person has neither a
-- verified e-mail address to mail a code to nor TOTP to ask for (issue 13,
-- item 1.4): `refuse` (fail closed, the default, also for existing tenants)
-- or `trust` (the lenient behaviour a tenant must choose explicitly).
ALTER TABLE tenants ADD COLUMN unverified_device TEXT NOT NULL DEFAULT 'refuse'
    CHECK (unverified_device IN ('refuse', 'trust'));
