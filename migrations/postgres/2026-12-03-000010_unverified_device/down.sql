ALTER TABLE tenants DROP COLUMN unverified_device;
