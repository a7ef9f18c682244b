DROP TABLE backup_schedules;
DROP TABLE tenant_backups;
