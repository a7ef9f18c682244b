DROP TABLE person_restrictions;
DROP TABLE rights_request_events;
DROP TABLE rights_requests;
ALTER TABLE tenants DROP COLUMN time_zone;
ALTER TABLE tenants DROP COLUMN requests_via_tenant_only;
ALTER TABLE tenants DROP COLUMN privacy_contact_email;
