-- Processors (issue 17, sections 1 and 2): purposes a tenant marks for
-- Global Privacy Control, objections recorded from that signal (source
-- `gpc`), and the people changes feed.

-- A purpose people object to by sending `Sec-GPC: 1` (sale, sharing).
ALTER TABLE consent_purposes ADD COLUMN gpc INTEGER NOT NULL DEFAULT 0;

-- SQLite cannot change a CHECK: rebuild the ledger with the `gpc` source.
CREATE TABLE consent_events_new (
    tenant_id       TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    id              TEXT    NOT NULL,
    person_id       TEXT    NOT NULL,
    purpose         TEXT    NOT NULL,
    action          TEXT    NOT NULL CHECK (action IN ('grant', 'withdraw', 'object')),
    source          TEXT    NOT NULL CHECK (source IN ('web', 'app', 'import', 'admin', 'unsubscribe', 'self', 'gpc')),
    policy_version  INTEGER,
    ip_prefix       TEXT,
    user_agent      TEXT,
    actor_kind      TEXT    NOT NULL,
    actor_id        TEXT    NOT NULL,
    occurred_at     TEXT    NOT NULL,
    expires_at      TEXT,
    recorded_at     TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, seq),
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, purpose) REFERENCES consent_purposes (tenant_id, key) ON DELETE CASCADE
) STRICT;
INSERT INTO consent_events_new SELECT * FROM consent_events;
DROP TABLE consent_events;
ALTER TABLE consent_events_new RENAME TO consent_events;
CREATE UNIQUE INDEX consent_events_id_key ON consent_events (tenant_id, id);
CREATE INDEX consent_events_person_idx ON consent_events (tenant_id, person_id, seq);
CREATE INDEX consent_events_purpose_idx ON consent_events (tenant_id, purpose, seq);

-- The head of a tenant's people feed: each change takes the next seq under
-- this row's lock, so seq order is commit order.
CREATE TABLE people_change_heads (
    tenant_id   TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    created_at  TEXT    NOT NULL
) STRICT;

-- The people feed: `person.created|updated|erased` with the names of the
-- fields, never their values. An erasure removes the person's rows; its
-- `person.erased` row names the erased id in `erased_id`, not `person_id`
-- (like the `person.erased` webhook delivery, whose body holds it while it
-- may be retried), with the purposes the person stood allowed for then;
-- it goes after three days, the webhooks' retry window.
CREATE TABLE people_changes (
    tenant_id    TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    id           TEXT    NOT NULL,
    person_id    TEXT,
    erased_id    TEXT,
    kind         TEXT    NOT NULL CHECK (kind IN ('person.created', 'person.updated', 'person.erased')),
    fields       TEXT    NOT NULL,
    purposes     TEXT,
    occurred_at  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, seq),
    CHECK ((person_id IS NULL) = (kind = 'person.erased')),
    CHECK ((erased_id IS NULL) = (kind <> 'person.erased'))
) STRICT;
CREATE INDEX people_changes_person_idx ON people_changes (tenant_id, person_id, seq);
