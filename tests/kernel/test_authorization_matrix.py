"""The authorization matrix, generated from the app's route table.

Every route the app answers must have an explicit rule in ``RULES``; a route added without
one fails ``test_every_route_has_a_rule``. Each route is then called with no key, with
keys that are not valid (garbage, a wrong scheme, a revoked key) and with each role's key,
and the answer must match the rule: 401 without a valid key (unless anonymous reads are
on and it is a GET), 403 for a role that may not, anything but 401/403 for one that may,
and never a 5xx.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from stockplane.app import create_app
from stockplane.auth import Role, create_key, revoke_key

PUBLIC = "public"  # no key needed (probes, the API's own description)
READER = "reader"  # any valid key; no key at all on GET when anonymous reads are on
INGEST = "ingest"  # an ingest key (or admin)
ARCHITECT = "architect"  # an architect key (or admin)
ADMIN = "admin"  # an admin key only

ALLOWED: dict[str, frozenset[str]] = {
    PUBLIC: frozenset(role.value for role in Role),
    READER: frozenset(role.value for role in Role),
    INGEST: frozenset({Role.INGEST.value, Role.ADMIN.value}),
    ARCHITECT: frozenset({Role.ARCHITECT.value, Role.ADMIN.value}),
    ADMIN: frozenset({Role.ADMIN.value}),
}


@dataclass(frozen=True)
class Rule:
    """Who may call a route, and the smallest request that reaches its authorization."""

    access: str
    json: Any = None
    content: bytes | None = None
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


_PROTOBUF = {"Content-Type": "application/x-protobuf"}

RULES: dict[tuple[str, str], Rule] = {
    # FastAPI's own documentation routes
    ("GET", "/openapi.json"): Rule(PUBLIC),
    ("GET", "/docs"): Rule(PUBLIC),
    ("GET", "/docs/oauth2-redirect"): Rule(PUBLIC),
    ("GET", "/redoc"): Rule(PUBLIC),
    # kernel
    ("GET", "/healthz"): Rule(PUBLIC),
    ("GET", "/readyz"): Rule(PUBLIC),
    ("GET", "/v1/audit"): Rule(READER),
    # registry
    ("GET", "/v1/contracts"): Rule(READER),
    ("GET", "/v1/contracts/{name}"): Rule(READER),
    ("PATCH", "/v1/contracts/{name}"): Rule(ARCHITECT, json={}),
    ("GET", "/v1/contracts/{name}/versions"): Rule(READER),
    ("POST", "/v1/contracts/{name}/versions"): Rule(ARCHITECT, json={}),
    # the CI gate: a dry run any key may make (a POST, so never anonymous)
    ("POST", "/v1/contracts/{name}/compatibility"): Rule(READER, json={}),
    ("GET", "/v1/contracts/{name}/versions/{version}"): Rule(READER),
    ("GET", "/v1/contracts/{name}/diff"): Rule(READER, params={"from": "1.0.0", "to": "1.1.0"}),
    ("POST", "/v1/contracts/{name}/versions/{version}/deprecate"): Rule(
        ARCHITECT, json={"sunset": "2030-01-01"}
    ),
    # forcing a retirement past its blockers is admin-only, decided once the version is found:
    # tests/registry/test_api.py::test_deprecation_consumers_impact_and_retirement
    ("POST", "/v1/contracts/{name}/versions/{version}/retire"): Rule(ARCHITECT),
    ("POST", "/v1/contracts/{name}/consumers"): Rule(ARCHITECT, json={}),
    ("GET", "/v1/contracts/{name}/consumers"): Rule(READER),
    ("GET", "/v1/contracts/{name}/versions/{version}/impact"): Rule(READER),
    ("GET", "/v1/contracts/{name}/usage"): Rule(READER),
    # tracing
    ("POST", "/v1/events"): Rule(INGEST, json=[]),
    ("POST", "/v1/traces"): Rule(INGEST, content=b"", headers=_PROTOBUF),
    ("GET", "/v1/transactions"): Rule(READER),
    ("GET", "/v1/transactions/{correlation_id}"): Rule(READER),
    ("POST", "/v1/transactions/{correlation_id}/resolution"): Rule(
        ARCHITECT, json={"action": "resolve", "note": "matrix"}
    ),
    ("GET", "/v1/systems"): Rule(READER),
    ("GET", "/v1/export"): Rule(READER),
}

DUMMY = "matrix-probe"
REVOKED = "revoked-admin"
# Credentials that must never authenticate: none, garbage, another scheme, a revoked key.
INVALID = ("none", "garbage", "basic", "revoked")


def routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) of every route the app answers, included routers flattened."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI >= 0.13x: routers stay nested
    except ImportError:  # older FastAPI copies included routes into app.routes
        entries: list[Any] = list(app.routes)
    else:
        entries = list(iter_route_contexts(app.routes))
    for route in entries:
        methods = getattr(route, "methods", None)
        assert methods, f"route {getattr(route, 'path', route)!r} has no methods (a mount? give it a rule)"
        for method in sorted(methods - {"HEAD"}):  # HEAD is GET without a body: checked with GET
            yield method, route.path


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", DUMMY, path)


@pytest.fixture
def keys(service: Any) -> dict[str, str | None]:
    """Authorization headers by kind: none, invalid ones, and one per role."""
    with service.database.session() as session:
        _key, revoked = create_key(session, name=REVOKED, role=Role.ADMIN)
    with service.database.session() as session:
        revoke_key(session, name=REVOKED)
    headers: dict[str, str | None] = {
        "none": None,
        "garbage": "Bearer sp_bad_bad",
        "basic": "Basic YWRtaW46YWRtaW4=",
        "revoked": f"Bearer {revoked}",
    }
    for role in Role:
        headers[role.value] = service.as_role(role.value)["Authorization"]
    return headers


def test_every_route_has_a_rule(service: Any) -> None:
    found = set(routes(service.client.app))
    missing = sorted(found - RULES.keys())
    assert not missing, "\n".join(f"route {m} {p} added without an authorization rule" for m, p in missing)
    stale = sorted(RULES.keys() - found)
    assert not stale, f"rules for routes that no longer exist: {stale}"


def _expected(rule: Rule, method: str, who: str, anonymous_read: bool) -> str:
    """'401', '403' or 'pass' (anything else below 500)."""
    if rule.access == PUBLIC:
        return "pass"
    if who == "none" and anonymous_read and rule.access == READER and method in ("GET", "HEAD"):
        return "pass"
    if who in INVALID:
        return "401"
    return "pass" if who in ALLOWED[rule.access] else "403"


def _violations(client: TestClient, keys: dict[str, str | None], anonymous_read: bool) -> list[str]:
    found = []
    for method, path in sorted(routes(client.app)):  # type: ignore[arg-type]
        rule = RULES.get((method, path))
        if rule is None:
            found.append(f"route {method} {path} added without an authorization rule")
            continue
        methods = [method, "HEAD"] if method == "GET" else [method]
        for who, authorization in keys.items():
            headers = dict(rule.headers)
            if authorization is not None:
                headers["Authorization"] = authorization
            for sent in methods:
                response = client.request(
                    sent,
                    _url(path),
                    params=rule.params,
                    json=rule.json,
                    content=rule.content,
                    headers=headers,
                )
                status = response.status_code
                expected = _expected(rule, sent, who, anonymous_read)
                where = f"{sent} {path} with {who} key (anonymous_read={anonymous_read})"
                if status >= 500:
                    found.append(f"{where}: {status} {response.text[:200]}")
                elif expected == "pass" and status in (401, 403):
                    found.append(f"{where}: {status}, expected to be let through")
                elif expected != "pass" and status != int(expected):
                    found.append(f"{where}: {status}, expected {expected}")
                elif status in (401, 403) and sent != "HEAD":
                    if not response.headers.get("content-type", "").startswith("application/problem+json"):
                        found.append(f"{where}: {status} is not a problem document")
                    elif response.json().get("status") != status:
                        found.append(f"{where}: the problem's status is not {status}")
                if status == 401 and not response.headers.get("www-authenticate", "").startswith("Bearer"):
                    found.append(f"{where}: 401 without `WWW-Authenticate: Bearer ...`")
    return found


def test_authorization_matrix(service: Any, keys: dict[str, str | None]) -> None:
    violations = _violations(service.client, keys, anonymous_read=service.settings.anonymous_read)
    assert not violations, "\n".join(violations)


def test_authorization_matrix_with_anonymous_reads(service: Any, keys: dict[str, str | None]) -> None:
    settings = service.settings.model_copy(update={"anonymous_read": True})
    app = create_app(settings, database=service.database)
    client = TestClient(app)  # no lifespan: it would dispose the shared database at exit
    violations = _violations(client, keys, anonymous_read=True)
    assert not violations, "\n".join(violations)
