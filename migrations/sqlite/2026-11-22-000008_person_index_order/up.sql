-- A person's rows are read in order (contacts and references by id,
-- sessions newest first, devices by last sign-in). With the person indexes
-- on (tenant_id, person_id) only, SQLite answered `WHERE tenant_id = ? AND
-- person_id = ? ORDER BY id` by walking the whole tenant in primary-key
-- order: a profile read cost O(persons). Each index now ends with the
-- order, so the read is one index range.
DROP INDEX person_emails_person_idx;
CREATE INDEX person_emails_person_idx ON person_emails (tenant_id, person_id, id);
DROP INDEX person_phones_person_idx;
CREATE INDEX person_phones_person_idx ON person_phones (tenant_id, person_id, id);
DROP INDEX person_addresses_person_idx;
CREATE INDEX person_addresses_person_idx ON person_addresses (tenant_id, person_id, id);
DROP INDEX person_websites_person_idx;
CREATE INDEX person_websites_person_idx ON person_websites (tenant_id, person_id, id);
DROP INDEX person_references_person_idx;
CREATE INDEX person_references_person_idx ON person_references (tenant_id, person_id, id);
DROP INDEX sessions_person_idx;
CREATE INDEX sessions_person_idx ON sessions (tenant_id, person_id, id);
DROP INDEX devices_person_idx;
CREATE INDEX devices_person_idx ON devices (tenant_id, person_id, last_login_at);
CREATE INDEX consent_acceptances_person_order_idx ON consent_acceptances (tenant_id, person_id, id);
