-- The audit log: a hash chain per tenant. audit_heads holds each chain's
-- last seq and hash; updating it serialises appends per tenant.

CREATE TABLE audit_heads (
    tenant_id  TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    hash       TEXT    NOT NULL
) STRICT;

CREATE TABLE audit_events (
    tenant_id    TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    id           TEXT    NOT NULL,
    at           TEXT    NOT NULL,
    actor_kind   TEXT    NOT NULL,
    actor_id     TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    target_kind  TEXT,
    target_id    TEXT,
    subject_ref  TEXT,
    fields       TEXT    NOT NULL,
    purpose      TEXT,
    request_id   TEXT,
    ip_prefix    TEXT,
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) STRICT;
CREATE INDEX audit_events_subject_idx ON audit_events (tenant_id, subject_ref, seq);
CREATE INDEX audit_events_actor_idx ON audit_events (tenant_id, actor_id, seq);

-- One random key per person: subject_ref = HMAC-SHA256(key, person_id).
-- Deleting the key makes that person's entries unlinkable.
CREATE TABLE subject_keys (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    person_id   TEXT NOT NULL,
    key         BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, person_id)
) STRICT;

INSERT INTO audit_heads (tenant_id, seq, hash)
SELECT id, 0, '0000000000000000000000000000000000000000000000000000000000000000' FROM tenants;
