-- The reference privacy centre (/privacy/{tenant_slug}/): served for a
-- tenant only once it turns it on.
ALTER TABLE tenants ADD COLUMN privacy_centre INTEGER NOT NULL DEFAULT 0;
