-- Webhooks (issue 17, sections 3 and 4): endpoints that receive signed
-- events (Standard Webhooks), the deliveries (the webhooks' outbox: written
-- in the transaction of the change, delivered by a worker with retries) and
-- every attempt of each delivery (what the delivery log and its schedule show).

-- An endpoint of a tenant. `client_id` is the app it speaks for: its
-- references to a person travel with that person's `person.erased`. The
-- signing secret is sealed under the master key (kluis must sign with it);
-- after a rotation the previous one signs too until `previous_secret_until`.
CREATE TABLE webhooks (
    tenant_id              TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                     TEXT    NOT NULL,
    client_id              TEXT    NOT NULL,
    url                    TEXT    NOT NULL,
    description            TEXT,
    event_types            TEXT    NOT NULL,
    purposes               TEXT    NOT NULL,
    secret                 BYTEA    NOT NULL,
    previous_secret        BYTEA,
    previous_secret_until  TIMESTAMP,
    status                 TEXT    NOT NULL CHECK (status IN ('active', 'disabled')),
    disabled_reason        TEXT,
    version                BIGINT NOT NULL,
    created_at             TIMESTAMP    NOT NULL,
    updated_at             TIMESTAMP    NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- One event for one endpoint. `event_id` is the `webhook-id` a receiver
-- deduplicates on (a replay keeps it); `person_id` orders a person's events
-- per endpoint; `erasure_id` ties a `person.erased` to its erasure receipt.
CREATE TABLE webhook_deliveries (
    tenant_id         TEXT    NOT NULL,
    id                TEXT    NOT NULL,
    webhook_id        TEXT    NOT NULL,
    event_id          TEXT    NOT NULL,
    event_type        TEXT    NOT NULL,
    person_id         TEXT,
    erasure_id        TEXT,
    payload           TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts          BIGINT NOT NULL,
    next_attempt_at   TIMESTAMP,
    lease_holder      TEXT,
    lease_expires_at  TIMESTAMP,
    response_status   INTEGER,
    latency_ms        BIGINT,
    response_body     TEXT,
    last_error        TEXT,
    delivered_at      TIMESTAMP,
    acknowledged_at   TIMESTAMP,
    created_at        TIMESTAMP    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (tenant_id, webhook_id, id);
CREATE INDEX webhook_deliveries_person_idx ON webhook_deliveries (tenant_id, person_id, webhook_id, id);
CREATE INDEX webhook_deliveries_erasure_idx ON webhook_deliveries (tenant_id, erasure_id);
-- The worker's scan for due deliveries, across tenants (like outbox_due_idx).
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_attempt_at);

-- Every attempt of a delivery: when it was due, when it ran, what came back.
CREATE TABLE webhook_attempts (
    tenant_id        TEXT    NOT NULL,
    id               TEXT    NOT NULL,
    delivery_id      TEXT    NOT NULL,
    scheduled_at     TIMESTAMP    NOT NULL,
    attempted_at     TIMESTAMP    NOT NULL,
    response_status  INTEGER,
    latency_ms       BIGINT NOT NULL,
    response_body    TEXT,
    error            TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, delivery_id) REFERENCES webhook_deliveries (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (tenant_id, delivery_id, id);
