ALTER TABLE tenants DROP COLUMN privacy_centre;
