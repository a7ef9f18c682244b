ALTER TABLE tenants DROP COLUMN self_erasure_grace_seconds;
DROP TABLE erasure_ledger;
DROP TABLE erasure_receipts;
DROP TABLE erasure_keys;
DROP TABLE self_erasures;
DROP TABLE person_holds;
