//! The record of processing activities (Art. 30 GDPR), built from the
//! tenant's purposes, their categories, recipients, transfers outside the
//! EEA and retention: as data, and as Markdown to hand to a supervisor.

use std::fmt::Write;

use kluis_core::category::Category;
use kluis_core::{Result, TenantId};
use kluis_store::Db;
use kluis_store::tenancy::tenants;
use time::PrimitiveDateTime;

use crate::model::{Purpose, Recipient};
use crate::{purposes, recipients};

/// One processing activity: a purpose with what it involves.
#[derive(Clone, Debug)]
pub struct Activity {
    /// The purpose.
    pub purpose: Purpose,
    /// Its recipients, whole.
    pub recipients: Vec<Recipient>,
    /// The tenant-defined attributes that serve it: key and data category
    /// (filled by the caller, which reads the people domain).
    pub attributes: Vec<(String, Category)>,
}

impl Activity {
    /// Its recipients outside the EEA.
    pub fn transfers(&self) -> impl Iterator<Item = &Recipient> {
        self.recipients.iter().filter(|r| !r.in_eea)
    }
}

/// The register of one tenant.
#[derive(Clone, Debug)]
pub struct Register {
    /// The controller: the tenant's name.
    pub controller: String,
    /// When it was made.
    pub generated_at: PrimitiveDateTime,
    /// One activity per purpose, by key.
    pub activities: Vec<Activity>,
    /// Every recipient, in registration order.
    pub recipients: Vec<Recipient>,
}

impl Register {
    /// Recipients outside the EEA: the transfers and their safeguards.
    pub fn transfers(&self) -> impl Iterator<Item = &Recipient> {
        self.recipients.iter().filter(|r| !r.in_eea)
    }
}

/// Build the tenant's register.
pub fn build(conn: &mut Db, tenant: &TenantId) -> Result<Register> {
    let controller = tenants::get(conn, tenant)?.name;
    let purposes = purposes::all(conn, tenant)?;
    let recipients = recipients::all(conn, tenant)?;
    let activities = purposes
        .into_iter()
        .map(|purpose| {
            let mine = recipients.iter().filter(|r| purpose.recipients.contains(&r.id)).cloned().collect();
            Activity { purpose, recipients: mine, attributes: Vec::new() }
        })
        .collect();
    Ok(Register { controller, generated_at: kluis_core::time::now(), activities, recipients })
}

/// Text safe inside a Markdown table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").replace('\\', "\\\\").replace('|', "\\|")
}

fn categories(list: &[Category]) -> String {
    list.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
}

fn safeguard(r: &Recipient) -> String {
    cell(r.transfer_mechanism.as_deref().unwrap_or("no safeguard named"))
}

fn recipient_line(r: &Recipient) -> String {
    let place = if r.in_eea {
        format!("{}, EEA", r.country)
    } else {
        format!("{}, outside the EEA: {}", r.country, safeguard(r))
    };
    format!("{} ({}; {})", cell(&r.name), r.role, place)
}

/// The register as Markdown: one section per purpose with basis,
/// categories, recipients and retention, then the transfers outside the EEA.
pub fn markdown(register: &Register) -> String {
    let mut out = String::new();
    let when = kluis_core::time::utc(register.generated_at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let _ = writeln!(out, "# Record of processing activities\n");
    let _ = writeln!(out, "Controller: {}  ", cell(&register.controller));
    let _ = writeln!(out, "Generated: {when}\n");
    let _ = writeln!(
        out,
        "No special categories of personal data (Art. 9 and 10 GDPR) are processed: kluis refuses them.\n"
    );
    let _ = writeln!(out, "## Processing activities\n");
    let _ = writeln!(out, "| Purpose | Legal basis | Data categories | Recipients | Retention |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for activity in &register.activities {
        let p = &activity.purpose;
        let recipients = if activity.recipients.is_empty() {
            "none".to_owned()
        } else {
            activity.recipients.iter().map(recipient_line).collect::<Vec<_>>().join("; ")
        };
        let _ = writeln!(
            out,
            "| {} (`{}`) | {} | {} | {} | {} |",
            cell(&p.name),
            p.key,
            p.legal_basis.article(),
            categories(&p.data_categories),
            recipients,
            p.retention,
        );
    }
    for activity in &register.activities {
        let p = &activity.purpose;
        let _ = writeln!(out, "\n### {} (`{}`)\n", cell(&p.name), p.key);
        let _ = writeln!(out, "{}\n", p.description.trim());
        let _ = writeln!(
            out,
            "- Legal basis: {}{}",
            p.legal_basis.article(),
            if p.requires_consent() { " (consent is asked and recorded per person)" } else { "" }
        );
        let _ = writeln!(out, "- Data categories:");
        for category in &p.data_categories {
            let _ = writeln!(out, "  - `{category}`: {}", category.fields().join(", "));
        }
        if !activity.attributes.is_empty() {
            let _ = writeln!(out, "- Tenant-defined attributes:");
            for (key, category) in &activity.attributes {
                let _ = writeln!(out, "  - `{key}` (`{category}`)");
            }
        }
        if activity.recipients.is_empty() {
            let _ = writeln!(out, "- Recipients: none");
        } else {
            let _ = writeln!(out, "- Recipients:");
            for r in &activity.recipients {
                let _ = writeln!(out, "  - {}", recipient_line(r));
            }
        }
        let _ = writeln!(out, "- Retention: {}", p.retention);
    }
    let _ = writeln!(out, "\n## Recipients\n");
    if register.recipients.is_empty() {
        let _ = writeln!(out, "None.");
    }
    for r in &register.recipients {
        let _ = writeln!(out, "- {}", recipient_line(r));
    }
    let _ = writeln!(out, "\n## Transfers outside the EEA\n");
    let mut any = false;
    for r in register.transfers() {
        any = true;
        let _ = writeln!(out, "- {} ({}, {}): {}", cell(&r.name), r.role, r.country, safeguard(r));
    }
    if !any {
        let _ = writeln!(out, "None.");
    }
    out
}
