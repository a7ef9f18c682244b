-- Policies counting from the serviced-device events go with the start.
DELETE FROM retention_policies WHERE start = 'restored_or_returned';
ALTER TABLE retention_policies DROP CONSTRAINT retention_policies_start_check;
ALTER TABLE retention_policies ADD CONSTRAINT retention_policies_start_check CHECK (start IN ('created', 'last_activity', 'consent_withdrawn', 'consent_expired'));
DROP TABLE service_notes;
DROP TABLE service_backups;
DROP TABLE service_credentials;
DROP TABLE service_items;
