-- The breach register (GDPR Art. 33, 34): every personal-data breach of the
-- tenant, its own or one at the platform (`source = 'platform'`, recorded by
-- the operator for each tenant affected), with the duty's clock: the
-- authority is due a report 72 hours after detection, unless a reason why
-- none is made is recorded.
CREATE TABLE breaches (
    tenant_id                 TEXT    NOT NULL,
    id                        TEXT    NOT NULL,
    source                    TEXT    NOT NULL CHECK (source IN ('tenant', 'platform')),
    platform_ref              TEXT,
    detected_at               TEXT    NOT NULL,
    description               TEXT    NOT NULL,
    data_categories           TEXT    NOT NULL,
    people_affected           INTEGER,
    records_affected          INTEGER,
    consequences              TEXT,
    measures                  TEXT,
    risk                      TEXT    NOT NULL CHECK (risk IN ('none', 'risk', 'high_risk')),
    authority_due_at          TEXT    NOT NULL,
    reported_to_authority_at  TEXT,
    authority_reference       TEXT,
    no_report_reason          TEXT,
    subjects_notified_at      TEXT,
    subjects_notified         INTEGER NOT NULL DEFAULT 0,
    status                    TEXT    NOT NULL CHECK (status IN ('open', 'closed')),
    closed_at                 TEXT,
    version                   INTEGER NOT NULL,
    created_at                TEXT    NOT NULL,
    updated_at                TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) STRICT;
CREATE INDEX breaches_due_idx ON breaches (tenant_id, authority_due_at);

-- Who was told of a breach (Art. 34): the proof of each notification, and
-- what keeps a second round from mailing anyone twice. Erasing a person
-- removes their rows; the breach keeps only the count.
CREATE TABLE breach_notifications (
    tenant_id    TEXT    NOT NULL,
    breach_id    TEXT    NOT NULL,
    person_id    TEXT    NOT NULL,
    notified_at  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, breach_id, person_id),
    FOREIGN KEY (tenant_id, breach_id) REFERENCES breaches (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX breach_notifications_person_idx ON breach_notifications (tenant_id, person_id, breach_id);
