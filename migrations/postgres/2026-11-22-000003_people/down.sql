DROP TABLE idempotency_keys;
DROP TABLE person_references;
DROP TABLE person_websites;
DROP TABLE person_addresses;
DROP TABLE person_phones;
DROP TABLE person_emails;
DROP TABLE people;
