//! The breach register (Art. 33, 34) as use cases: the tenant records its
//! breaches (`breaches:admin`), lists them (the overdue ones: due, not
//! reported, no reason recorded), changes them (reported, explained,
//! closed); the operator records a breach at the platform for each tenant
//! it reached, which lands in each one's register, mails each one's privacy
//! contact and emits `breach.created` there, without the operator seeing
//! any personal data; and a high-risk breach is told to the people it
//! concerns, in their language. Every change is audited in its transaction.

use std::collections::BTreeSet;

use kluis_audit::{Action, Target};
use kluis_core::category::Category;
use kluis_core::page::Page;
use kluis_core::{DomainError, FieldError, PersonId, TenantId};
use kluis_people::{contacts, persons};
use kluis_rights::breaches::{self, Breach, Changes, Filter, NewBreach};
use kluis_rights::mail;
use kluis_store::Db;
use kluis_store::tenancy::tenants;

use crate::fields::{AuditFields, present};
use crate::{App, AppResult, Context, Scoped, webhooks};

impl AuditFields for NewBreach {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("detected_at", true),
            ("description", true),
            ("data_categories", true),
            ("people_affected", self.people_affected.is_some()),
            ("records_affected", self.records_affected.is_some()),
            ("consequences", self.consequences.is_some()),
            ("measures", self.measures.is_some()),
            ("risk", true),
            ("reported_to_authority_at", self.reported_to_authority_at.is_some()),
            ("authority_reference", self.authority_reference.is_some()),
            ("no_report_reason", self.no_report_reason.is_some()),
        ])
    }
}

impl AuditFields for Changes {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("detected_at", self.detected_at.is_some()),
            ("description", self.description.is_some()),
            ("data_categories", self.data_categories.is_some()),
            ("people_affected", self.people_affected.is_some()),
            ("records_affected", self.records_affected.is_some()),
            ("consequences", self.consequences.is_some()),
            ("measures", self.measures.is_some()),
            ("risk", self.risk.is_some()),
            ("reported_to_authority_at", self.reported_to_authority_at.is_some()),
            ("authority_reference", self.authority_reference.is_some()),
            ("no_report_reason", self.no_report_reason.is_some()),
            ("subjects_notified_at", self.subjects_notified_at.is_some()),
            ("status", self.status.is_some()),
        ])
    }
}

fn target(breach: &Breach) -> Target {
    Target::resource("breach", &breach.id)
}

/// Record one of the tenant's own breaches; `breach.created` goes to the
/// tenant's endpoints in the same transaction.
pub async fn create(app: &App, caller: &Scoped<'_>, new: NewBreach) -> AppResult<Breach> {
    breaches::check(&new, kluis_core::time::now())?;
    let tenant = caller.tenant.clone();
    let fields = new.audit_fields();
    app.audited(caller.audit(), Action::BreachCreate, fields, move |conn| {
        let breach = breaches::create(conn, &tenant, &new, None)?;
        webhooks::breach_created(conn, &tenant, &breach)?;
        let target = target(&breach);
        Ok((breach, target))
    })
    .await
}

/// A page of the tenant's breaches, oldest first.
pub async fn list(
    app: &App,
    caller: &Scoped<'_>,
    filter: Filter,
    limit: i64,
    after: Option<String>,
) -> AppResult<Page<Breach>> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| breaches::list(conn, &tenant, &filter, limit, after.as_deref())).await
}

/// One breach.
pub async fn get(app: &App, caller: &Scoped<'_>, id: String) -> AppResult<Breach> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| breaches::get(conn, &tenant, &id)).await
}

/// Change a breach at `if_version` (when given): its facts, its report or
/// the reason why none is made, close or reopen it.
pub async fn update(
    app: &App,
    caller: &Scoped<'_>,
    id: String,
    if_version: Option<i64>,
    changes: Changes,
) -> AppResult<Breach> {
    let tenant = caller.tenant.clone();
    let fields = changes.audit_fields();
    app.audited(caller.audit(), Action::BreachUpdate, fields, move |conn| {
        let mut breach = breaches::load(conn, &tenant, &id, if_version)?;
        breaches::update(conn, &tenant, &mut breach, &changes)?;
        let target = target(&breach);
        Ok((breach, target))
    })
    .await
}

/// Whom to tell of a breach: named people, and the people whose data of
/// the named categories the tenant keeps.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// People by id (each must be one of the tenant's: 422 otherwise).
    pub person_ids: Vec<PersonId>,
    /// Catalogue category names.
    pub data_categories: Vec<String>,
}

/// What telling the people of a breach did.
#[derive(Debug, Clone)]
pub struct Notified {
    /// The breach, with `subjects_notified_at` and its count.
    pub breach: Breach,
    /// How many people the selection named.
    pub selected: usize,
    /// Mailed now.
    pub notified: usize,
    /// Told before (not mailed again).
    pub already_notified: usize,
    /// Without a primary e-mail address: not told through kluis.
    pub unreachable: usize,
}

/// The people the selection names, each once, in id order; 422 naming the
/// entry for an unknown person or category.
fn select(conn: &mut Db, tenant: &TenantId, selection: &Selection) -> Result<Vec<PersonId>, DomainError> {
    let mut errors = Vec::new();
    if selection.person_ids.is_empty() && selection.data_categories.is_empty() {
        errors.push(FieldError::new("person_ids", "name the people, or the data categories whose people to tell"));
    }
    let mut chosen = BTreeSet::new();
    for (i, person) in selection.person_ids.iter().enumerate() {
        match persons::version(conn, tenant, person) {
            Ok(_) => {
                chosen.insert(person.clone());
            }
            Err(DomainError::NotFound) => errors.push(FieldError::new(format!("person_ids[{i}]"), "no such person")),
            Err(e) => return Err(e),
        }
    }
    for (i, name) in selection.data_categories.iter().enumerate() {
        let Ok(category) = name.parse::<Category>() else {
            let message = "must be a category of the catalogue (user.name, user.contact.email, ...)";
            errors.push(FieldError::new(format!("data_categories[{i}]"), message));
            continue;
        };
        chosen.extend(holding(conn, tenant, category)?);
    }
    if errors.is_empty() { Ok(chosen.into_iter().collect()) } else { Err(DomainError::Validation(errors)) }
}

/// The people about whom the tenant keeps data of `category`, from the
/// domain that keeps it.
fn holding(conn: &mut Db, tenant: &TenantId, category: Category) -> Result<Vec<PersonId>, DomainError> {
    if let Some(people) = persons::holding(conn, tenant, category)? {
        return Ok(people);
    }
    Ok(match category {
        Category::PrivacyPreferences => kluis_consent::ledger::persons(conn, tenant)?,
        Category::Service | Category::ServiceCredential | Category::ServiceBackup => {
            kluis_service::items::persons(conn, tenant)?
        }
        Category::IpAddress => {
            let mut people = kluis_devices::devices::persons(conn, tenant)?;
            people.extend(kluis_consent::ledger::persons(conn, tenant)?);
            people
        }
        _ => kluis_devices::devices::persons(conn, tenant)?,
    })
}

/// Tell the people a high-risk breach concerns (Art. 34): each selected
/// person with a primary e-mail address who was not told before is mailed
/// in their language what happened, the likely consequences, the measures
/// and whom to ask; who was told and when is recorded. 409
/// `breach_not_high_risk` for a breach of lower risk.
pub async fn notify_subjects(app: &App, caller: &Scoped<'_>, id: String, selection: Selection) -> AppResult<Notified> {
    let tenant = caller.tenant.clone();
    let master = app.master.clone();
    let fields = present(&[
        ("person_ids", !selection.person_ids.is_empty()),
        ("data_categories", !selection.data_categories.is_empty()),
    ]);
    app.audited(caller.audit(), Action::BreachNotify, fields, move |conn| {
        let mut breach = breaches::get(conn, &tenant, &id)?;
        let chosen = select(conn, &tenant, &selection)?;
        breaches::check_notifiable(&breach)?;
        let settings = tenants::get(conn, &tenant)?;
        let told: BTreeSet<PersonId> =
            breaches::already_notified(conn, &tenant, &breach.id, &chosen)?.into_iter().collect();
        let mut mailed = Vec::new();
        let mut unreachable = 0;
        for person in chosen.iter().filter(|p| !told.contains(*p)) {
            let Some((to, language)) = contacts::primary_address(conn, &tenant, person)? else {
                unreachable += 1;
                continue;
            };
            let notice = mail::BreachNotice {
                organisation: &settings.name,
                contact: settings.privacy_contact_email.as_deref(),
                breach: &breach,
            };
            mail::queue_breach_notice(conn, &master, &tenant, person, &to, language.as_deref(), notice)?;
            mailed.push(person.clone());
        }
        breaches::record_notified(conn, &tenant, &mut breach, &mailed)?;
        let target = target(&breach);
        let outcome = Notified {
            breach,
            selected: chosen.len(),
            notified: mailed.len(),
            already_notified: told.len(),
            unreachable,
        };
        Ok((outcome, target))
    })
    .await
}

/// A breach at the platform, as the operator records it.
#[derive(Debug, Clone)]
pub struct PlatformBreach {
    /// The breach (the same facts for every tenant).
    pub breach: NewBreach,
    /// The tenants it reached.
    pub tenants: Vec<TenantId>,
}

/// Where a platform breach landed.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The operator's id of the breach (`platform_ref` in every register).
    pub platform_ref: String,
    /// Per tenant: the tenant, its breach id, whether its privacy contact was mailed.
    pub tenants: Vec<(TenantId, String, bool)>,
}

/// The operator records a breach at the platform: in one transaction, each
/// affected tenant gets it in its register (`source: platform`), its
/// privacy contact a mail, its endpoints `breach.created`, its audit log
/// the entry. An unknown or repeated tenant id is 422 and nothing is
/// recorded. The operator gets back ids only.
pub async fn create_platform(app: &App, ctx: &Context, platform: PlatformBreach) -> AppResult<Recorded> {
    let PlatformBreach { breach: new, tenants: affected } = platform;
    breaches::check(&new, kluis_core::time::now())?;
    let mut errors = Vec::new();
    if affected.is_empty() {
        errors.push(FieldError::new("tenant_ids", "name at least one tenant"));
    }
    for (i, tenant) in affected.iter().enumerate() {
        if affected[..i].contains(tenant) {
            errors.push(FieldError::new(format!("tenant_ids[{i}]"), "is named twice"));
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors).into());
    }
    let master = app.master.clone();
    let ctx = ctx.clone();
    let fields = new.audit_fields();
    app.in_transaction(move |conn| {
        let mut found = Vec::new();
        let mut errors = Vec::new();
        for (i, tenant) in affected.iter().enumerate() {
            match tenants::get(conn, tenant) {
                Ok(settings) => found.push(settings),
                Err(DomainError::NotFound) => {
                    errors.push(FieldError::new(format!("tenant_ids[{i}]"), "no such tenant"));
                }
                Err(e) => return Err(e.into()),
            }
        }
        if !errors.is_empty() {
            return Err(DomainError::Validation(errors).into());
        }
        let platform_ref = kluis_core::new_id();
        let mut recorded = Vec::new();
        for settings in found {
            let tenant = settings.id.clone();
            let breach = breaches::create(conn, &tenant, &new, Some(&platform_ref))?;
            webhooks::breach_created(conn, &tenant, &breach)?;
            let mailed = match &settings.privacy_contact_email {
                Some(to) => {
                    mail::queue_platform_breach(conn, &master, &tenant, to, &settings.name, &breach)?;
                    true
                }
                None => false,
            };
            let audit = ctx.audit_in(tenant.clone());
            kluis_audit::record(conn, &audit, Action::BreachCreate, target(&breach), &fields, None)?;
            recorded.push((tenant, breach.id, mailed));
        }
        Ok(Recorded { platform_ref, tenants: recorded })
    })
    .await
}
