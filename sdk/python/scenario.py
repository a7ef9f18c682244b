"""The SDK scenario with the Python client that openapi-python-client made
from openapi/openapi.json (sdk/run.sh generates it into sdk/out/python).

operator token -> tenant -> client -> people with contacts -> a consent
granted and checked -> the people listed page by page with the cursor.
Every call goes through the generated functions and models; an answer that
is not the documented success model fails the run.

    python scenario.py BASE_URL OPERATOR_FILE
"""

from __future__ import annotations

import json
import sys
import uuid

from kluis_client import AuthenticatedClient, Client
from kluis_client.api.clients import create_client
from kluis_client.api.consent import check_one, record_consent
from kluis_client.api.people import create_person, list_people
from kluis_client.api.tenants import create_tenant
from kluis_client.api.tokens import token
from kluis_client.models import (
    CheckResult,
    ClientWithSecret,
    ConsentEventView,
    CreateClient,
    CreatePerson,
    CreateTenant,
    PersonPage,
    PersonView,
    RecordConsent,
    TenantCreated,
    TokenRequest,
    TokenResponse,
)
from kluis_client.types import UNSET


def expect(answer, model, step: str):
    if not isinstance(answer, model):
        sys.exit(f"python: {step}: expected {model.__name__}, got {answer!r}")
    return answer


def access_token(base: str, client_id: str, secret: str) -> str:
    body = TokenRequest.from_dict({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
    with Client(base_url=base, raise_on_unexpected_status=True) as anonymous:
        return expect(token.sync(client=anonymous, body=body), TokenResponse, "token").access_token


def main() -> None:
    base, operator_file = sys.argv[1], sys.argv[2]
    operator = json.load(open(operator_file))
    op = AuthenticatedClient(base_url=base, token=access_token(base, operator["client_id"], operator["client_secret"]), raise_on_unexpected_status=True)

    slug = "sdk-py-" + uuid.uuid4().hex[:8]
    tenant = expect(create_tenant.sync(client=op, body=CreateTenant.from_dict({"name": "SDK Python", "slug": slug})), TenantCreated, "create tenant")
    assert tenant.slug == slug
    admin = AuthenticatedClient(base_url=base, token=access_token(base, tenant.admin_client.client_id, tenant.admin_client.client_secret), raise_on_unexpected_status=True)

    made = create_client.sync(client=admin, body=CreateClient.from_dict({"name": "back office", "scopes": ["people:read", "people:write", "consent:read", "consent:write"]}))
    made = expect(made, ClientWithSecret, "create client")
    office = AuthenticatedClient(base_url=base, token=access_token(base, made.client_id, made.client_secret), raise_on_unexpected_status=True)

    people = []
    for n in range(3):
        body = CreatePerson.from_dict({
            "first_name": f"Anna{n}",
            "last_name": "de Vries",
            "emails": [{"address": f"anna{n}@devries.example", "label": "work"}],
            "phones": [{"number": f"+3161234567{n}", "label": "home"}],
            "addresses": [{"street": "Dorpsstraat", "house_number": str(n + 1), "postal_code": "1234 AB", "city": "Utrecht", "country": "NL", "label": "private"}],
        })
        person = expect(create_person.sync(client=office, body=body), PersonView, "create person")
        assert person.emails[0].address == f"anna{n}@devries.example", person.emails
        people.append(person.id)

    grant = RecordConsent.from_dict({"purpose": "marketing_email", "action": "grant", "source": "web"})
    expect(record_consent.sync(people[0], client=office, body=grant), ConsentEventView, "grant consent")
    allowed = expect(check_one.sync(client=office, person_id=uuid.UUID(people[0]), purpose="marketing_email"), CheckResult, "check consent")
    assert allowed.allowed is True, allowed
    refused = expect(check_one.sync(client=office, person_id=uuid.UUID(people[1]), purpose="marketing_email"), CheckResult, "check consent")
    assert refused.allowed is False, refused

    seen, cursor = [], UNSET
    while True:
        page = expect(list_people.sync(client=office, limit=2, cursor=cursor), PersonPage, "list people")
        seen.extend(p.id for p in page.items)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(people), (seen, people)
    print(f"python: scenario passed on {base} (tenant {slug}, {len(seen)} people over {len(seen) // 2 + 1} pages)")


if __name__ == "__main__":
    main()
