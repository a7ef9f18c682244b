DROP TABLE outbox;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE challenges;
DROP TABLE auth_tokens;
DROP TABLE recovery_codes;
DROP TABLE accounts;
