-- Rights (GDPR Art. 12, 15-22): the tenant's own settings for requests, the
-- data-subject requests with their deadlines and history, and restriction
-- of processing (Art. 18).

ALTER TABLE tenants ADD COLUMN privacy_contact_email TEXT;
ALTER TABLE tenants ADD COLUMN requests_via_tenant_only BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tenants ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'Europe/Amsterdam';

-- A request. `person_id` is null while a request made from outside waits
-- for its mailed link to be clicked (only `email` names it then), and once
-- the person is erased (the request stays, anonymised, as the record that
-- it was answered).
CREATE TABLE rights_requests (
    tenant_id             TEXT    NOT NULL,
    id                    TEXT    NOT NULL,
    person_id             TEXT,
    email                 TEXT,
    kind                  TEXT    NOT NULL CHECK (kind IN ('access', 'rectification', 'erasure', 'restriction', 'objection', 'portability')),
    channel               TEXT    NOT NULL CHECK (channel IN ('self', 'tenant', 'email')),
    state                 TEXT    NOT NULL CHECK (state IN ('received', 'verified', 'in_progress', 'extended', 'completed', 'refused')),
    details               TEXT,
    purposes              TEXT,
    received_at           TIMESTAMP NOT NULL,
    due_on                TEXT    NOT NULL,
    due_at                TIMESTAMP NOT NULL,
    extension_reason      TEXT,
    extended_at           TIMESTAMP,
    verified_at           TIMESTAMP,
    closed_at             TIMESTAMP,
    refusal_reason        TEXT,
    refusal_text          TEXT,
    outcome               TEXT,
    token_hash            TEXT,
    token_expires_at      TIMESTAMP,
    download_hash         TEXT,
    download_expires_at   TIMESTAMP,
    downloaded_at         TIMESTAMP,
    reminded_due_soon_at  TIMESTAMP,
    reminded_overdue_at   TIMESTAMP,
    version               BIGINT  NOT NULL,
    created_at            TIMESTAMP NOT NULL,
    updated_at            TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id)
);
CREATE INDEX rights_requests_person_idx ON rights_requests (tenant_id, person_id, id);
CREATE INDEX rights_requests_due_idx ON rights_requests (tenant_id, state, due_at);
CREATE INDEX rights_requests_token_idx ON rights_requests (tenant_id, token_hash);
CREATE INDEX rights_requests_download_idx ON rights_requests (tenant_id, download_hash);

-- What happened to a request, step by step (the person sees it too).
CREATE TABLE rights_request_events (
    tenant_id   TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    seq         BIGINT  NOT NULL,
    action      TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    actor_kind  TEXT    NOT NULL,
    at          TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, request_id, seq),
    FOREIGN KEY (tenant_id, request_id) REFERENCES rights_requests (tenant_id, id) ON DELETE CASCADE
);

-- Restriction of processing: while a row stands, every consent check about
-- the person answers `allowed: false, restricted: true`.
CREATE TABLE person_restrictions (
    tenant_id   TEXT    NOT NULL,
    person_id   TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    request_id  TEXT,
    version     BIGINT  NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, person_id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
);
