-- The lifecycle of a person's data (issue 14, sections 2-4): legal holds,
-- self-service erasure with a grace period, erasure receipts and the erasure
-- ledger. Receipts and the ledger outlive the person: they name them only by
-- a keyed hash (HMAC-SHA256 under the tenant's erasure key), never by id.

-- A legal hold keeps a person from being erased (by request or by a sweep)
-- until it is lifted or its end (`ends_at`) passes.
CREATE TABLE person_holds (
    tenant_id   TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    person_id   TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    ends_at     TEXT,
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX person_holds_person_idx ON person_holds (tenant_id, person_id, id);

-- A person's own erasure request, carried out at `due_at` unless cancelled.
-- Only pending requests live here (a handful): the worker scans it whole.
CREATE TABLE self_erasures (
    tenant_id     TEXT    NOT NULL,
    person_id     TEXT    NOT NULL,
    requested_at  TEXT    NOT NULL,
    due_at        TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, person_id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
) STRICT;

-- The key of a tenant's erasure hashes: made with the tenant, kept with it.
CREATE TABLE erasure_keys (
    tenant_id   TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    key         BLOB    NOT NULL,
    created_at  TEXT    NOT NULL
) STRICT;

-- What each erasure removed, when, by whom and why, and who must be told.
CREATE TABLE erasure_receipts (
    tenant_id    TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           TEXT    NOT NULL,
    subject_ref  TEXT    NOT NULL,
    reason       TEXT    NOT NULL CHECK (reason IN ('request', 'retention', 'self_service')),
    actor_kind   TEXT    NOT NULL,
    actor_id     TEXT,
    removed      TEXT    NOT NULL,
    notify       TEXT    NOT NULL,
    erased_at    TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;

-- Every erased person of a tenant, by keyed hash, and when: what a restore
-- must erase again. Nothing else.
CREATE TABLE erasure_ledger (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    subject_hash  TEXT    NOT NULL,
    erased_at     TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, subject_hash)
) STRICT;

-- How long a person's own erasure request waits (they may cancel within it).
ALTER TABLE tenants ADD COLUMN self_erasure_grace_seconds INTEGER NOT NULL DEFAULT 0;
