-- Processors (issue 17, sections 1 and 2): purposes a tenant marks for
-- Global Privacy Control, objections recorded from that signal (source
-- `gpc`), and the people changes feed.

-- A purpose people object to by sending `Sec-GPC: 1` (sale, sharing).
ALTER TABLE consent_purposes ADD COLUMN gpc BOOLEAN NOT NULL DEFAULT FALSE;

ALTER TABLE consent_events DROP CONSTRAINT consent_events_source_check;
ALTER TABLE consent_events ADD CONSTRAINT consent_events_source_check
    CHECK (source IN ('web', 'app', 'import', 'admin', 'unsubscribe', 'self', 'gpc'));

-- The head of a tenant's people feed: each change takes the next seq under
-- this row's lock, so seq order is commit order.
CREATE TABLE people_change_heads (
    tenant_id   TEXT      NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    seq         BIGINT    NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

-- The people feed: `person.created|updated|erased` with the names of the
-- fields, never their values. An erasure removes the person's rows; its
-- `person.erased` row names the erased id in `erased_id`, not `person_id`
-- (like the `person.erased` webhook delivery, whose body holds it while it
-- may be retried), with the purposes the person stood allowed for then;
-- it goes after three days, the webhooks' retry window.
CREATE TABLE people_changes (
    tenant_id    TEXT      NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    seq          BIGINT    NOT NULL,
    id           TEXT      NOT NULL,
    person_id    TEXT,
    erased_id    TEXT,
    kind         TEXT      NOT NULL CHECK (kind IN ('person.created', 'person.updated', 'person.erased')),
    fields       TEXT      NOT NULL,
    purposes     TEXT,
    occurred_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, seq),
    CHECK ((person_id IS NULL) = (kind = 'person.erased')),
    CHECK ((erased_id IS NULL) = (kind <> 'person.erased'))
);
CREATE INDEX people_changes_person_idx ON people_changes (tenant_id, person_id, seq);
