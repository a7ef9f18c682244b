"""Write the schemathesis configuration for kluis: `python3 config.py CONTRACT OUT`.

Every check runs on every operation. Where kluis deliberately answers a
schema-valid request with a status the check does not expect, this file
widens that check's expected statuses for that operation only, and says why
in a comment above it. Two reasons are read from the contract itself, so an
operation added later is covered by construction:

- an `If-Match` header: a stale or foreign ETag is refused with 412 before the
  body is read (RFC 9110 §13.2.1: preconditions come before the content);
- a `cursor` (or `after`) parameter: a cursor is a `next_cursor` kluis made;
  another string of the same alphabet is refused with 422, and JSON Schema
  cannot say which strings kluis made.

The other reasons are rules JSON Schema cannot say (they depend on stored
data, the clock or a secret); each field's description in the contract says
the rule, and the table below names the operations it touches.
"""

from __future__ import annotations

import json
import sys

# The statuses the checks expect by default (schemathesis 4).
POSITIVE = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
NEGATIVE = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx"]

REFERENCE = "names a purpose, recipient or policy version of the tenant: which exist is stored data, not schema (422)"
PASSWORD = "a new password must not be one of the 10,000 most common ones (422): a list, not a pattern"
TOTP = "the code must be the current TOTP code (or an unused recovery code) of the person (422): a secret, not a pattern"
BIRTH = "date_of_birth must not be in the future nor over 150 years ago (422): relative to today, not a fixed bound"
RETENTION = (
    "a policy names a category or a purpose, not both nor neither (a rule between two fields); `purpose` "
    + REFERENCE
    + "; a start at a consent's end needs a purpose based on consent; a period is not zero and not above the "
    "tenant's ceiling (stored data)"
)
REQUEST = (
    "only an objection names `purposes`, and a request names `person_id` or `email` (rules between fields); "
    "each purpose is a purpose key; `received_at` must not be in the future (relative to now) (422)"
)
EMAIL = "an e-mail address must be one kluis can mail (422): stricter than the `email` format"
ZONE = "`time_zone` must name a zone of the IANA database kluis carries (422): a list, not a pattern"
GONE = "a download that was used, expired or never offered is 410: stored data"
WEBHOOK = (
    "`url` must be https unless the operator allows http, a URL the WHATWG parser accepts, whose host is not and "
    "does not resolve to a loopback, private, link-local or metadata address (operator settings and DNS, not "
    "schema); each event type and purpose listed once (utoipa cannot say uniqueItems); `purposes` "
    + REFERENCE
    + "; `client_id` names a client of the tenant (stored data)"
)
ATTRIBUTE = (
    "each of `purposes` " + REFERENCE + "; a rule applies only to the types it fits (length and pattern to a "
    "string, max_length to a url, range to a number, values to an enum), min is not above max and a pattern "
    "must compile (422): rules between fields"
)
VALUES = "`attributes` follow the tenant's own attribute definitions, their keys and types (stored data) (422)"
LINK = "`verify_email_url` and `reset_password_url` hold `{token}` exactly once and no credentials (422): a count, not a pattern"
TOKEN = "a mailed token that is unknown, used or expired is refused with 400 `token_invalid`: validity is stored data"
BREACH = (
    "`detected_at` must not be in the future, `reported_to_authority_at` and `subjects_notified_at` neither, nor "
    "before `detected_at` (the clock, and a rule between fields, with the stored value on a change); each data "
    "category named once (utoipa cannot say uniqueItems) (422)"
)

# (method, path) -> [(extra positive statuses, reason)]
RULES: dict[tuple[str, str], list[tuple[list[str], str]]] = {
    ("POST", "/v1/clients"): [(["422"], "each of `purposes` " + REFERENCE)],
    ("PATCH", "/v1/clients/{client_id}"): [(["422"], "each of `purposes` " + REFERENCE)],
    ("GET", "/v1/consents/check"): [(["422"], "`purpose` " + REFERENCE)],
    ("POST", "/v1/consents/check"): [(["422"], "each `purpose` " + REFERENCE)],
    ("GET", "/v1/consents/changes"): [(["422"], "`purpose` " + REFERENCE)],
    ("PUT", "/v1/me/consents/{purpose}"): [
        (["422"], "`purpose` " + REFERENCE + "; a grant or withdrawal needs a purpose based on consent")
    ],
    ("POST", "/v1/people/{person_id}/consents"): [
        (
            ["422"],
            "`purpose` and `policy_version` " + REFERENCE + "; the action must suit the purpose's legal basis; "
            "`occurred_at` must not be in the future",
        )
    ],
    ("GET", "/v1/people/{person_id}/unsubscribe-link"): [(["422"], "`purpose` " + REFERENCE)],
    ("POST", "/v1/purposes"): [(["422"], "`recipients` " + REFERENCE)],
    ("POST", "/v1/recipients"): [
        (["422"], "a recipient outside the EEA names its transfer mechanism (422): a rule between two fields")
    ],
    ("POST", "/v1/people/{person_id}/addresses"): [
        (["422"], "an address in NL has a Dutch postal code (422): a rule between two fields")
    ],
    ("POST", "/v1/me/addresses"): [(["422"], "an address in NL has a Dutch postal code (422): a rule between two fields")],
    ("PATCH", "/v1/purposes/{key}"): [(["422"], "`recipients` " + REFERENCE)],
    ("POST", "/v1/people/{person_id}/acceptances"): [(["422"], "`version` " + REFERENCE)],
    ("POST", "/v1/people/{person_id}/holds"): [
        (["422"], "`until` must be in the future (422): relative to now, not a fixed bound")
    ],
    ("POST", "/v1/people/{person_id}/service-items"): [
        (["422"], "`received_at` must not be in the future (422): relative to now, not a fixed bound")
    ],
    ("POST", "/v1/people/{person_id}/service-items/{item_id}/backups"): [
        (["422"], "`made_at` must not be in the future (422): relative to now, not a fixed bound")
    ],
    ("POST", "/v1/attributes"): [(["422"], ATTRIBUTE)],
    ("PATCH", "/v1/attributes/{key}"): [(["422"], ATTRIBUTE)],
    ("POST", "/v1/retention/policies"): [(["422"], RETENTION)],
    ("PATCH", "/v1/retention/policies/{policy_id}"): [(["422"], RETENTION)],
    ("PATCH", "/v1/tenants/{tenant_id}"): [
        (["422"], "a `max_retention` below the period of a policy the tenant has is refused (stored data)"),
        (["422"], ZONE + "; " + EMAIL + "; " + LINK),
    ],
    ("PATCH", "/v1/recipients/{recipient_id}"): [
        (["422"], "a recipient outside the EEA keeps a transfer mechanism: the country may be the stored one (422)")
    ],
    ("PATCH", "/v1/people/{person_id}/addresses/{contact_id}"): [
        (["422"], "an address in NL has a Dutch postal code: the country may be the stored one (422)")
    ],
    ("PATCH", "/v1/me/addresses/{contact_id}"): [
        (["422"], "an address in NL has a Dutch postal code: the country may be the stored one (422)")
    ],
    ("GET", "/v1/stats/visits"): [(["422"], "`to` must be on or after `from` and within 3 years of it (422)")],
    ("DELETE", "/v1/me/totp"): [(["422"], TOTP)],
    ("POST", "/v1/me/recovery-codes"): [(["422"], TOTP)],
    ("POST", "/v1/me/totp/confirm"): [(["422"], TOTP)],
    ("POST", "/v1/me/password"): [(["422"], PASSWORD)],
    ("POST", "/v1/people/{person_id}/account"): [(["422"], PASSWORD)],
    ("POST", "/v1/people/{person_id}/account/password"): [(["422"], PASSWORD)],
    ("POST", "/v1/auth/challenges/{challenge_id}"): [(["422"], PASSWORD)],
    ("POST", "/v1/auth/password-reset/confirm"): [(["400"], TOKEN), (["422"], PASSWORD)],
    ("POST", "/v1/auth/verify-email"): [(["400"], TOKEN)],
    ("POST", "/v1/people"): [
        (["422"], BIRTH),
        (["422"], "an address in NL has a Dutch postal code (422): a rule between two fields"),
        (["422"], VALUES),
    ],
    ("PATCH", "/v1/people/{person_id}"): [(["422"], BIRTH), (["422"], VALUES)],
    ("PATCH", "/v1/me"): [(["422"], BIRTH), (["422"], VALUES)],
    ("POST", "/v1/unsubscribe/{token}"): [
        (["400", "410"], "an unsubscribe link kluis did not sign is 400, a used or expired one 410: a signature, not a pattern")
    ],
    ("POST", "/v1/requests"): [(["422"], REQUEST)],
    ("POST", "/v1/me/requests"): [(["422"], REQUEST)],
    ("POST", "/v1/requests/{request_id}/extend"): [
        (["422"], "an extension is possible once, only within the first month after receipt (422): the clock and stored data")
    ],
    ("POST", "/v1/requests/{request_id}/complete"): [
        (
            ["422"],
            "a rectification names its `reference`, an objection's purposes must exist and allow one (422): "
            "the request's stored kind and the tenant's purposes",
        )
    ],
    ("POST", "/v1/public/{tenant_slug}/requests"): [(["422"], EMAIL)],
    ("POST", "/v1/public/{tenant_slug}/requests/verify"): [(["400"], TOKEN)],
    ("POST", "/v1/public/{tenant_slug}/requests/verify/{token}"): [(["400"], TOKEN)],
    ("GET", "/v1/public/{tenant_slug}/requests/download/{token}"): [(["410"], GONE)],
    ("GET", "/v1/me/requests/{request_id}/export"): [(["410"], GONE)],
    ("PATCH", "/v1/tenant"): [(["422"], ZONE + "; " + EMAIL + "; " + LINK)],
    ("POST", "/v1/breaches"): [(["422"], BREACH)],
    ("PATCH", "/v1/breaches/{breach_id}"): [
        (["422"], BREACH + "; closing needs a report or a reason why none is made (the stored breach)")
    ],
    ("POST", "/v1/breaches/{breach_id}/notify-subjects"): [
        (
            ["422"],
            "names `person_ids` or `data_categories` (a rule between fields); each person id names a person of "
            "the tenant (stored data)",
        )
    ],
    ("POST", "/v1/operator/breaches"): [
        (["422"], BREACH + "; each tenant id names a tenant, once (stored data; uniqueItems)")
    ],
    ("POST", "/v1/webhooks"): [(["422"], WEBHOOK)],
    ("PATCH", "/v1/webhooks/{webhook_id}"): [(["422"], WEBHOOK)],
    ("POST", "/v1/oauth/token"): [
        (
            ["400"],
            "RFC 6749 §5.2 answers a grant it refuses with 400 (invalid_request, invalid_grant, invalid_scope): "
            "whether a refresh token or scope is good is stored data",
        )
    ],
}

PRECONDITION = (
    "a stale or foreign ETag in If-Match is refused with 412 before the body is read "
    "(RFC 9110 §13.2.1: preconditions come before the content)"
)
CURSOR = "a cursor is a `next_cursor` kluis made; another string of its alphabet is refused with 422"


def toml_list(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' if not v.isdigit() else v for v in values) + "]"


def main() -> None:
    contract = json.load(open(sys.argv[1]))
    blocks = []
    seen = set()
    for path, item in contract["paths"].items():
        for method, operation in item.items():
            key = (method.upper(), path)
            params = operation.get("parameters", [])
            reasons = list(RULES.get(key, []))
            negative: list[tuple[list[str], str]] = []
            if any(p["in"] == "header" and p["name"].lower() == "if-match" for p in params):
                reasons.append((["412"], PRECONDITION))
                negative.append((["412"], PRECONDITION))
            if any(p["in"] == "query" and p["name"] in ("cursor", "after") for p in params):
                reasons.append((["422"], CURSOR))
            if not reasons:
                continue
            seen.add(key)
            # One name, "METHOD /path": separate method and path filters would match either.
            lines = ["[[operations]]", f'include-name = "{key[0]} {path}"']
            extra = []
            for statuses, why in reasons:
                lines.append(f"# {', '.join(statuses)}: {why}")
                extra += [s for s in statuses if s not in extra]
            lines.append("checks.positive_data_acceptance.expected-statuses = " + toml_list(POSITIVE + extra))
            if negative:
                lines.append("checks.negative_data_rejection.expected-statuses = " + toml_list(NEGATIVE + ["412"]))
            blocks.append("\n".join(lines))
    missing = set(RULES) - seen
    if missing:
        sys.exit(f"config.py names operations the contract does not have: {sorted(missing)}")
    header = (
        "# Generated by tests/schemathesis/config.py from openapi/openapi.json; see its docstring.\n\n"
        "# Every run starts afresh: no examples kept between runs in .schemathesis/.\n"
        "[cache]\nenabled = false\n\n"
        "# No text kluis takes may hold NUL (U+0000): the contract's description says\n"
        "# it is refused (422 in a body or query, 404 in a path) before any handler,\n"
        "# which JSON Schema could say only as a pattern on every string. Generated\n"
        "# strings leave it out; tests/tests/suite/http.rs sends it every way in.\n"
        "[generation]\nallow-x00 = false\n\n"
    )
    with open(sys.argv[2], "w") as out:
        out.write(header + "\n\n".join(blocks) + "\n")


if __name__ == "__main__":
    main()
