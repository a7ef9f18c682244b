DROP TABLE tenant_exports;
