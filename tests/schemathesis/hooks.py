"""Schemathesis hooks for kluis: a bearer token per operation, chosen by the
scope the operation declares in the contract (`security: [{bearer: [scope]}]`).

- `tenants:admin`: the platform operator's token (client credentials from
  the operator file the server wrote on its first start);
- `self`: a signed-in person's token;
- any other scope: a tenant client holding every tenant scope;
- no `security`: no token at all.

Fuzzing may take these callers away (delete or suspend the tenant, block or
erase the person, end the session, lock a client out with wrong secrets).
Whatever it takes away is made anew here: on a 401 schemathesis asks for a
fresh token, and a caller that can no longer get one is replaced by a new
tenant or person. Nothing here relaxes a check.
"""

from __future__ import annotations

import json
import os
import threading
import uuid

import requests
import schemathesis

BASE = os.environ["KLUIS_FUZZ_URL"].rstrip("/")
OPERATOR = json.load(open(os.environ["KLUIS_FUZZ_OPERATOR_FILE"]))
PASSWORD = "fuzz horse battery staple"
TIMEOUT = 30

_lock = threading.Lock()
_tenant: dict | None = None
_person: dict | None = None


def _token(client_id: str, secret: str) -> str | None:
    response = requests.post(
        f"{BASE}/v1/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        timeout=TIMEOUT,
    )
    return response.json()["access_token"] if response.status_code == 200 else None


def _operator_token() -> str:
    token = _token(OPERATOR["client_id"], OPERATOR["client_secret"])
    if token is None:
        raise RuntimeError("the operator client no longer gets a token")
    return token


def _new_tenant() -> dict:
    slug = "fuzz-" + uuid.uuid4().hex[:12]
    response = requests.post(
        f"{BASE}/v1/tenants",
        json={"name": "Fuzz " + slug, "slug": slug},
        headers={"Authorization": f"Bearer {_operator_token()}"},
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    body = response.json()
    return {"slug": slug, "client_id": body["admin_client"]["client_id"], "secret": body["admin_client"]["client_secret"]}


def _tenant_token() -> str:
    """A token of the tenant's admin client, with a new tenant when the old one is gone."""
    global _tenant
    if _tenant is not None:
        token = _token(_tenant["client_id"], _tenant["secret"])
        if token is not None:
            return token
    _tenant = _new_tenant()
    token = _token(_tenant["client_id"], _tenant["secret"])
    if token is None:
        raise RuntimeError("a new tenant's admin client gets no token")
    return token


def _sign_in(person: dict) -> str | None:
    response = requests.post(
        f"{BASE}/v1/auth/login",
        json={"tenant": person["tenant"], "identifier": person["email"], "password": PASSWORD},
        timeout=TIMEOUT,
    )
    return response.json().get("access_token") if response.status_code == 200 else None


def _new_person() -> dict:
    token = _tenant_token()
    assert _tenant is not None
    email = f"fuzz-{uuid.uuid4().hex[:12]}@example.nl"
    headers = {"Authorization": f"Bearer {token}"}
    response = requests.post(
        f"{BASE}/v1/people",
        json={"first_name": "Fuzz", "emails": [{"address": email, "label": "private"}]},
        headers=headers,
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    person_id = response.json()["id"]
    response = requests.post(
        f"{BASE}/v1/people/{person_id}/account", json={"password": PASSWORD}, headers=headers, timeout=TIMEOUT
    )
    response.raise_for_status()
    return {"tenant": _tenant["slug"], "email": email}


def _person_token() -> str:
    """A signed-in person's token, with a new person when the old one cannot sign in."""
    global _person
    if _person is not None:
        token = _sign_in(_person)
        if token is not None:
            return token
    _person = _new_person()
    token = _sign_in(_person)
    if token is None:
        raise RuntimeError("a new person cannot sign in")
    return token


def _scope(operation) -> str | None:
    security = operation.definition.raw.get("security") or []
    for requirement in security:
        scopes = requirement.get("bearer")
        if scopes:
            return scopes[0]
    return None


def _caller(operation) -> str | None:
    scope = _scope(operation)
    if scope is None:
        return None
    if scope == "tenants:admin":
        return "operator"
    if scope == "self":
        return "person"
    return "tenant"


@schemathesis.auth(refresh_interval=600, cache_by_key=lambda case, ctx: _caller(ctx.operation) or "none")
class KluisAuth:
    def get(self, case, ctx):
        with _lock:
            caller = _caller(ctx.operation)
            if caller == "operator":
                return _operator_token()
            if caller == "tenant":
                return _tenant_token()
            if caller == "person":
                return _person_token()
            return None

    def set(self, case, data, ctx):
        if data is not None:
            case.headers = case.headers or {}
            case.headers["Authorization"] = f"Bearer {data}"


# Payment card numbers. kluis refuses them in free text, e-mail addresses and
# URLs (422); the contract says so in each such field's description, because
# no JSON Schema keyword can. Rather than let the positive-data check accept
# 422 on every write, the few schema-valid cases that happen to hold a card
# number are dropped from generation; every other case is checked as usual.
# The scan mirrors `kluis_core::validate::contains_card_number`.

CARD_MIN, CARD_MAX, MAX_SEPARATOR = 13, 19, 3


def _digit(ch: str) -> int | None:
    if "0" <= ch <= "9":
        return ord(ch) - ord("0")
    if "\uff10" <= ch <= "\uff19":
        return ord(ch) - 0xFF10
    return None


def _luhn(digits: list[int]) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return bool(digits) and total % 10 == 0


def _run_has_card(groups: list[list[int]]) -> bool:
    if len(groups) == 1:
        return CARD_MIN <= len(groups[0]) <= CARD_MAX and _luhn(groups[0])
    for start in range(len(groups)):
        digits: list[int] = []
        for group in groups[start:]:
            digits += group
            if CARD_MIN <= len(digits) <= CARD_MAX and _luhn(digits):
                return True
    return False


def contains_card_number(text: str) -> bool:
    groups: list[list[int]] = []
    current: list[int] = []
    gap = 0
    for ch in text:
        digit = _digit(ch)
        if digit is not None:
            if gap > MAX_SEPARATOR:
                groups = []
            gap = 0
            current.append(digit)
            continue
        if current:
            groups.append(current)
            current = []
        if ch.isalnum():
            if _run_has_card(groups):
                return True
            groups = []
            gap = 0
        else:
            gap += 1
            if gap == MAX_SEPARATOR + 1:
                if _run_has_card(groups):
                    return True
                groups = []
    if current:
        groups.append(current)
    return _run_has_card(groups)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@schemathesis.hook
def filter_case(context, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return True
    values = [case.body, case.query, case.path_parameters]
    return not any(contains_card_number(s) for v in values if v is not None for s in _strings(v))


# A person's account is a sub-resource that POST /v1/people does not create,
# so the stateful phase's "the person just made is not there" is, for the
# account's operations, a 404 naming the missing account. Only that failure,
# on those operations, is dropped (per-operation check settings do not reach
# the stateful phase).
@schemathesis.hook
def filter_failure(context, failure, case, response):
    if type(failure).__name__ != "EnsureResourceAvailability" or response.status_code != 404:
        return True
    created = getattr(failure, "created_with", "")
    missing = getattr(failure, "not_available_with", "")
    on_account = missing.split(" ", 1)[-1].startswith("/v1/people/{person_id}/account")
    return not (created == "POST /v1/people" and on_account)
