DROP INDEX sessions_idle_idx;
DROP TABLE retention_sweeps;
DROP TABLE retention_policies;
DROP TABLE retention_heads;
ALTER TABLE tenants DROP COLUMN max_retention;
