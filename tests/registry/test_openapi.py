"""OpenAPI change pairs: each mutation of a base document and the rules it must trigger."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from registry.diff.compatibility import Side
from registry.diff.engine import DiffOptions, diff_contracts
from registry.diff.findings import Severity
from stockplane.documents import Document

TODAY = dt.date(2026, 6, 1)


def base() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Inventory", "version": "1.4.0"},
        "servers": [{"url": "https://api.example.com/inventory/v1"}],
        "security": [{"apiKey": []}],
        "paths": {
            "/stock/{sku}": {
                "parameters": [{"name": "sku", "in": "path", "required": True, "schema": {"type": "string"}}],
                "get": {
                    "operationId": "getStock",
                    "tags": ["stock"],
                    "parameters": [
                        {"name": "location", "in": "query", "schema": {"type": "string", "maxLength": 20}},
                        {
                            "name": "X-Channel",
                            "in": "header",
                            "schema": {"type": "string", "enum": ["web", "pos"]},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "stock",
                            "headers": {"X-Rate-Limit": {"required": True, "schema": {"type": "integer"}}},
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Stock"}}
                            },
                        },
                        "404": {"description": "unknown sku"},
                    },
                },
            },
            "/reservations": {
                "post": {
                    "operationId": "reserve",
                    "security": [{"oauth": ["stock:write"]}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Reservation"}}
                        },
                    },
                    "responses": {"201": {"description": "reserved"}},
                },
            },
            "/legacy": {"get": {"responses": {"200": {"description": "ok"}}}},
        },
        "components": {
            "schemas": {
                "Stock": {
                    "type": "object",
                    "required": ["sku", "available"],
                    "properties": {
                        "sku": {"type": "string"},
                        "available": {"type": "integer", "minimum": 0},
                        "status": {"type": "string", "enum": ["available", "reserved"]},
                        "ean": {"type": "string"},
                    },
                },
                "Reservation": {
                    "type": "object",
                    "required": ["sku", "quantity"],
                    "properties": {
                        "sku": {"type": "string", "maxLength": 40},
                        "quantity": {"type": "integer", "minimum": 1},
                        "note": {"type": "string"},
                        "channel": {"type": "string", "enum": ["web", "pos"]},
                    },
                },
            },
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Key"},
                "oauth": {
                    "type": "oauth2",
                    "flows": {"clientCredentials": {"tokenUrl": "https://a/t", "scopes": {}}},
                },
            },
        },
    }


def diff(old: dict[str, Any], new: dict[str, Any], **options: Any) -> list:
    report = diff_contracts(
        Side.of(Document(data=old, source="old.yaml")),
        Side.of(Document(data=new, source="new.yaml")),
        DiffOptions(today=TODAY, **options),
    )
    return report.findings


Mutation = Callable[[dict[str, Any]], None]

STOCK_GET = ("paths", "/stock/{sku}", "get")
STOCK = ("components", "schemas", "Stock", "properties")
RESERVATION = ("components", "schemas", "Reservation")


def at(spec: dict[str, Any], *keys: str) -> Any:
    node = spec
    for key in keys:
        node = node[key]
    return node


def bump(spec: dict[str, Any], version: str = "2.0.0") -> None:
    spec["info"]["version"] = version


def _secure_legacy(spec: dict[str, Any]) -> None:
    spec["paths"]["/legacy"]["get"]["security"] = [{"apiKey": []}]


def _remove_deprecated(spec: dict[str, Any]) -> None:
    spec["paths"].pop("/legacy")


BREAKING: list[tuple[str, Mutation, str]] = [
    ("path removed", lambda s: s["paths"].pop("/legacy"), "api-path-removed-without-deprecation"),
    (
        "operation removed",
        lambda s: (
            s["paths"]["/stock/{sku}"].pop("get")
            and s["paths"]["/stock/{sku}"].update(put={"responses": {"200": {"description": "x"}}})
        ),
        "api-removed-without-deprecation",
    ),
    (
        "query parameter became required",
        lambda s: at(s, *STOCK_GET)["parameters"][0].update(required=True),
        "request-parameter-became-required",
    ),
    (
        "new required query parameter",
        lambda s: at(s, *STOCK_GET)["parameters"].append(
            {"name": "store", "in": "query", "required": True, "schema": {"type": "string"}}
        ),
        "new-required-request-parameter",
    ),
    (
        "parameter maxLength decreased",
        lambda s: at(s, *STOCK_GET)["parameters"][0]["schema"].update(maxLength=10),
        "request-parameter-max-length-decreased",
    ),
    (
        "parameter type changed",
        lambda s: at(s, *STOCK_GET)["parameters"][0]["schema"].update(type="integer"),
        "request-parameter-type-changed",
    ),
    (
        "header parameter enum value removed",
        lambda s: at(s, *STOCK_GET)["parameters"][1]["schema"].update(enum=["web"]),
        "request-parameter-enum-value-removed",
    ),
    (
        "parameter pattern added",
        lambda s: at(s, *STOCK_GET)["parameters"][0]["schema"].update(pattern="^[A-Z]+$"),
        "request-parameter-pattern-added",
    ),
    (
        "parameter style changed",
        lambda s: at(s, *STOCK_GET)["parameters"][0].update(style="spaceDelimited"),
        "request-parameter-style-changed",
    ),
    (
        "parameter explode changed",
        lambda s: at(s, *STOCK_GET)["parameters"][0].update(explode=False),
        "request-parameter-explode-changed",
    ),
    (
        "request property became required",
        lambda s: at(s, *RESERVATION)["required"].append("note"),
        "request-property-became-required",
    ),
    (
        "new required request property",
        lambda s: (
            at(s, *RESERVATION)["properties"].update(store={"type": "string"}),
            at(s, *RESERVATION)["required"].append("store"),
        ),
        "new-required-request-property",
    ),
    (
        "request property maxLength decreased",
        lambda s: at(s, *RESERVATION)["properties"]["sku"].update(maxLength=20),
        "request-property-max-length-decreased",
    ),
    (
        "request property minimum increased",
        lambda s: at(s, *RESERVATION)["properties"]["quantity"].update(minimum=5),
        "request-property-min-increased",
    ),
    (
        "request property type changed",
        lambda s: at(s, *RESERVATION)["properties"]["quantity"].update(type="string"),
        "request-property-type-changed",
    ),
    (
        "request property enum value removed",
        lambda s: at(s, *RESERVATION)["properties"]["channel"].update(enum=["web"]),
        "request-property-enum-value-removed",
    ),
    (
        "request closed to extra properties",
        lambda s: at(s, *RESERVATION).update(
            additionalProperties=False,
            properties={k: v for k, v in at(s, *RESERVATION)["properties"].items() if k != "note"},
        ),
        "request-property-removed",
    ),
    (
        "request body became required",
        lambda s: s["paths"]["/legacy"]["get"].update(
            requestBody={"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
        ),
        "new-required-request-body",
    ),
    (
        "request media type removed",
        lambda s: at(s, "paths", "/reservations", "post", "requestBody").update(
            content={"application/xml": {"schema": {"type": "object"}}}
        ),
        "request-body-media-type-removed",
    ),
    (
        "success status removed",
        lambda s: (
            at(s, *STOCK_GET)["responses"].pop("200")
            and at(s, *STOCK_GET)["responses"].update({"202": {"description": "later"}})
        ),
        "response-success-status-removed",
    ),
    (
        "response media type removed",
        lambda s: at(s, *STOCK_GET)["responses"]["200"].update(
            content={"application/xml": {"schema": {"type": "object"}}}
        ),
        "response-media-type-removed",
    ),
    (
        "response required property removed",
        lambda s: (
            at(s, *STOCK).pop("available"),
            at(s, "components", "schemas", "Stock")["required"].remove("available"),
        ),
        "response-required-property-removed",
    ),
    (
        "response property became optional",
        lambda s: at(s, "components", "schemas", "Stock")["required"].remove("available"),
        "response-property-became-optional",
    ),
    (
        "response property type changed",
        lambda s: at(s, *STOCK)["available"].update(type="string"),
        "response-property-type-changed",
    ),
    (
        "response property widened to number",
        lambda s: at(s, *STOCK)["available"].update(type="number"),
        "response-property-type-changed",
    ),
    (
        "response minimum removed",
        lambda s: at(s, *STOCK)["available"].pop("minimum"),
        "response-property-min-decreased",
    ),
    (
        "response became nullable",
        lambda s: at(s, *STOCK)["sku"].update(nullable=True),
        "response-property-became-nullable",
    ),
    (
        "response body type changed",
        lambda s: at(s, *STOCK_GET)["responses"]["200"]["content"]["application/json"].update(
            schema={"type": "array", "items": {"$ref": "#/components/schemas/Stock"}}
        ),
        "response-body-type-changed",
    ),
    (
        "required response header removed",
        lambda s: at(s, *STOCK_GET)["responses"]["200"].pop("headers"),
        "response-required-header-removed",
    ),
    (
        "response header became optional",
        lambda s: at(s, *STOCK_GET)["responses"]["200"]["headers"]["X-Rate-Limit"].update(required=False),
        "response-header-became-optional",
    ),
    (
        "response header type changed",
        lambda s: at(s, *STOCK_GET)["responses"]["200"]["headers"]["X-Rate-Limit"].update(
            schema={"type": "string"}
        ),
        "response-header-type-changed",
    ),
    (
        "security added to open operation",
        _secure_legacy,
        "api-security-added",
    ),
    (
        "security scope added",
        lambda s: at(s, "paths", "/reservations", "post")["security"][0]["oauth"].append("stock:admin"),
        "api-security-scope-added",
    ),
    ("version went backwards", lambda s: bump(s, "1.3.9"), "api-version-decreased"),
    (
        "deprecated operation removed before sunset",
        _remove_deprecated,
        "api-path-removed-before-sunset",
    ),
    (
        "deprecation notice too short",
        lambda s: at(s, *STOCK_GET).update({"deprecated": True, "x-sunset": "2026-07-01"}),
        "api-sunset-date-too-small",
    ),
    (
        "unparseable sunset",
        lambda s: at(s, *STOCK_GET).update({"deprecated": True, "x-sunset": "next spring"}),
        "api-invalid-sunset-date",
    ),
]


@pytest.mark.parametrize(("name", "mutate", "rule"), BREAKING, ids=[c[0] for c in BREAKING])
def test_breaking_change_is_reported(name: str, mutate: Mutation, rule: str) -> None:
    old = base()
    if rule == "api-path-removed-before-sunset":
        old["paths"]["/legacy"]["get"].update({"deprecated": True, "x-sunset": "2027-01-01"})
    if rule == "api-security-added":
        old["paths"]["/legacy"]["get"]["security"] = []
    new = copy.deepcopy(old)
    mutate(new)
    findings = diff(old, new)
    rules = {f.rule for f in findings}
    assert rule in rules, findings
    assert any(f.severity is Severity.ERROR for f in findings)


NOT_BREAKING: list[tuple[str, Mutation, set[str]]] = [
    (
        "base path changed is a warning",
        lambda s: s.update(servers=[{"url": "https://api.example.com/inventory/v2"}]),
        {"api-base-path-changed"},
    ),
    (
        "response media type made more specific",
        lambda s: at(s, *STOCK_GET)["responses"]["200"].update(
            content={"application/json": at(s, *STOCK_GET)["responses"]["200"]["content"]["application/*"]}
        ),
        set(),
    ),
    (
        "pattern relaxed to match anything",
        lambda s: at(s, *STOCK_GET)["parameters"][0]["schema"].update(pattern=".*"),
        set(),
    ),
    ("nothing changed", lambda s: None, set()),
    (
        "path added",
        lambda s: (
            s["paths"].update({"/transfers": {"get": {"responses": {"200": {"description": "ok"}}}}})
            or bump(s, "1.5.0")
        ),
        {"api-path-added"},
    ),
    (
        "optional query parameter added",
        lambda s: (
            at(s, *STOCK_GET)["parameters"].append(
                {"name": "limit", "in": "query", "schema": {"type": "integer"}}
            )
            or bump(s, "1.5.0")
        ),
        {"new-optional-request-parameter"},
    ),
    ("parameter widened", lambda s: at(s, *STOCK_GET)["parameters"][0]["schema"].pop("maxLength"), set()),
    (
        "request enum value added",
        lambda s: at(s, *RESERVATION)["properties"]["channel"]["enum"].append("marketplace"),
        set(),
    ),
    (
        "request maxLength raised",
        lambda s: at(s, *RESERVATION)["properties"]["sku"].update(maxLength=80),
        set(),
    ),
    (
        "optional request property added",
        lambda s: at(s, *RESERVATION)["properties"].update(store={"type": "string"}),
        set(),
    ),
    ("request property became optional", lambda s: at(s, *RESERVATION)["required"].remove("quantity"), set()),
    ("response property added", lambda s: at(s, *STOCK).update(reserved={"type": "integer"}), set()),
    (
        "optional response property removed after deprecation",
        lambda s: at(s, *STOCK).pop("ean"),
        {"response-property-removed-without-deprecation"},
    ),
    ("response narrowed", lambda s: at(s, *STOCK)["available"].update(maximum=1000), set()),
    (
        "response became required",
        lambda s: at(s, "components", "schemas", "Stock")["required"].append("status"),
        set(),
    ),
    (
        "path parameter renamed",
        lambda s: s["paths"].update({"/stock/{id}": _rename_param(s["paths"].pop("/stock/{sku}"))}),
        {"api-path-parameter-renamed"},
    ),
    (
        "operation deprecated with notice",
        lambda s: at(s, *STOCK_GET).update({"deprecated": True, "x-sunset": "2027-06-01"}),
        {"api-deprecated"},
    ),
    (
        "security alternative added",
        lambda s: s.update(security=[{"apiKey": []}, {"oauth": []}]),
        {"api-security-requirement-added"},
    ),
    (
        "non-success status added",
        lambda s: at(s, *STOCK_GET)["responses"].update({"429": {"description": "slow down"}}),
        {"response-non-success-status-added"},
    ),
    (
        "response enum value added is a warning",
        lambda s: at(s, *STOCK)["status"]["enum"].append("damaged"),
        {"response-property-enum-value-added"},
    ),
    (
        "operationId changed is a warning",
        lambda s: at(s, *STOCK_GET).update(operationId="fetchStock"),
        {"api-operation-id-changed"},
    ),
    ("draft operation removed", lambda s: s["paths"].pop("/legacy"), set()),
    ("deprecated path removed after sunset", lambda s: s["paths"].pop("/legacy"), {"api-path-removed"}),
]


def _rename_param(item: dict[str, Any]) -> dict[str, Any]:
    item["parameters"][0]["name"] = "id"
    return item


@pytest.mark.parametrize(("name", "mutate", "rules"), NOT_BREAKING, ids=[c[0] for c in NOT_BREAKING])
def test_compatible_change_is_not_an_error(name: str, mutate: Mutation, rules: set[str]) -> None:
    old = base()
    if name == "draft operation removed":
        old["paths"]["/legacy"]["get"]["x-stability-level"] = "draft"
    if name == "response media type made more specific":
        response = at(old, *STOCK_GET)["responses"]["200"]
        response["content"] = {"application/*": response["content"]["application/json"]}
    if name == "deprecated path removed after sunset":
        old["paths"]["/legacy"]["get"].update({"deprecated": True, "x-sunset": "2026-01-01"})
    new = copy.deepcopy(old)
    mutate(new)
    findings = diff(old, new)
    assert {f.rule for f in findings} == rules, findings
    assert not [f for f in findings if f.severity is Severity.ERROR]


def test_breaking_change_needs_a_major_version() -> None:
    old = base()
    new = copy.deepcopy(old)
    at(new, *RESERVATION)["required"].append("note")
    bump(new, "1.5.0")
    assert "api-major-version-required" in {f.rule for f in diff(old, new)}
    bump(new, "2.0.0")
    assert "api-major-version-required" not in {f.rule for f in diff(old, new)}


def test_addition_without_minor_version_is_a_warning() -> None:
    old = base()
    new = copy.deepcopy(old)
    new["paths"]["/transfers"] = {"get": {"responses": {"200": {"description": "ok"}}}}
    bump(new, "1.4.1")
    (finding,) = [f for f in diff(old, new) if f.rule == "api-minor-version-required"]
    assert finding.severity is Severity.WARNING


def test_response_direction_is_the_reverse_of_request_direction() -> None:
    """The same widening breaks a response and is fine in a request."""
    old = base()
    new = copy.deepcopy(old)
    at(new, *STOCK)["available"]["type"] = "number"  # response widened
    at(new, *RESERVATION)["properties"]["quantity"]["type"] = "number"  # request widened
    rules = {f.rule for f in diff(old, new)}
    assert "response-property-type-changed" in rules
    assert not any(rule.startswith("request-") for rule in rules)


def test_deprecation_days_option() -> None:
    old = base()
    new = copy.deepcopy(old)
    at(new, *STOCK_GET).update({"deprecated": True, "x-sunset": "2026-08-01"})  # 61 days' notice
    assert "api-sunset-date-too-small" in {f.rule for f in diff(old, new)}
    assert "api-sunset-date-too-small" not in {f.rule for f in diff(old, new, deprecation_days=30)}


def test_finding_points_at_the_new_document_line_through_refs() -> None:
    old = base()
    new = copy.deepcopy(old)
    at(new, *RESERVATION)["properties"]["sku"]["maxLength"] = 20
    (finding,) = [f for f in diff(old, new) if f.rule == "request-property-max-length-decreased"]
    assert finding.location.pointer == "/components/schemas/Reservation/properties/sku/maxLength"
    assert finding.location.file == "new.yaml"
    assert (finding.old, finding.new) == (40, 20)
    assert "POST /reservations" in finding.message


def test_removing_a_security_alternative_breaks_its_clients() -> None:
    old = base()
    old["security"] = [{"apiKey": []}, {"oauth": []}]
    new = copy.deepcopy(old)
    new["security"] = [{"oauth": []}]
    rules = {f.rule for f in diff(old, new)}
    assert "api-security-requirement-removed" in rules


def test_wrapping_a_request_property_in_a_nullable_union_is_compatible() -> None:
    old = base()
    new = copy.deepcopy(old)
    props = at(new, *RESERVATION)["properties"]
    props["channel"] = {"oneOf": [{"type": "null"}, props["channel"]]}
    props["sku"] = {"type": ["string", "null"], "maxLength": 40}
    assert diff(old, new) == []
    rules = {f.rule for f in diff(new, old)}
    assert rules == {"request-property-became-not-nullable", "api-major-version-required"}


def test_read_only_request_and_write_only_response_properties_are_ignored() -> None:
    old = base()
    at(old, *RESERVATION)["properties"]["reservedAt"] = {"type": "string", "readOnly": True, "maxLength": 30}
    at(old, *STOCK)["pin"] = {"type": "string", "writeOnly": True, "enum": ["a", "b"]}
    new = copy.deepcopy(old)
    at(new, *RESERVATION)["properties"]["reservedAt"]["maxLength"] = 10  # never sent by clients
    at(new, *STOCK)["pin"].pop("enum")  # never sent to clients
    assert diff(old, new) == []
    for spec in (old, new):  # once clients may send it, narrowing it breaks them
        at(spec, *RESERVATION)["properties"]["reservedAt"].pop("readOnly")
    assert "request-property-max-length-decreased" in {f.rule for f in diff(old, new)}


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("1", (1, 0, 0, "")),
        ("v2.1", (2, 1, 0, "")),
        ("1.2.3-rc.1", (1, 2, 3, "rc.1")),
        ("2024-01", None),
        ("latest", None),
    ],
)
def test_version_parsing(text: str, parsed: tuple | None) -> None:
    from registry.diff.openapi import parse_version

    assert parse_version(text) == parsed


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (lambda p: p["schema"].update(default="DC1"), "request-parameter-default-value-changed"),
        (
            lambda p: p.update(deprecated=True, **{"x-sunset": "2026-06-15"}),
            "request-parameter-sunset-date-too-small",
        ),
        (
            lambda p: p.update(deprecated=True, **{"x-sunset": "whenever"}),
            "request-parameter-invalid-sunset-date",
        ),
    ],
)
def test_parameter_defaults_and_deprecation(change: Mutation, rule: str) -> None:
    old = base()
    new = copy.deepcopy(old)
    change(at(new, *STOCK_GET)["parameters"][0])
    findings = {f.rule: f for f in diff(old, new)}
    assert rule in findings
    assert findings[rule].severity is Severity.ERROR


def test_deleting_the_sunset_of_a_deprecated_operation_or_parameter() -> None:
    old = base()
    at(old, *STOCK_GET).update({"deprecated": True, "x-sunset": "2027-01-01"})
    at(old, *STOCK_GET)["parameters"][0].update({"deprecated": True, "x-sunset": "2027-01-01"})
    new = copy.deepcopy(old)
    del at(new, *STOCK_GET)["x-sunset"]
    del at(new, *STOCK_GET)["parameters"][0]["x-sunset"]
    rules = {f.rule for f in diff(old, new)}
    assert {"api-sunset-deleted", "request-parameter-sunset-deleted"} <= rules


def test_stability_level_going_down_breaks_and_unknown_levels_are_reported() -> None:
    old = base()
    at(old, *STOCK_GET)["x-stability-level"] = "stable"
    new = copy.deepcopy(old)
    at(new, *STOCK_GET)["x-stability-level"] = "beta"
    assert "api-stability-decreased" in {f.rule for f in diff(old, new)}
    assert "api-stability-decreased" not in {f.rule for f in diff(new, old)}  # going up is fine
    at(new, *STOCK_GET)["x-stability-level"] = "gold"
    assert "api-invalid-stability-level" in {f.rule for f in diff(old, new)}


def test_removing_a_deprecated_operation_with_an_unreadable_sunset_is_an_error() -> None:
    old = base()
    old["paths"]["/legacy"]["get"].update({"deprecated": True, "x-sunset": "soon"})
    new = copy.deepcopy(old)
    del new["paths"]["/legacy"]
    assert "api-path-removed-before-sunset" in {f.rule for f in diff(old, new)}


def test_removing_a_parameter_or_request_body_is_an_error() -> None:
    old = base()
    new = copy.deepcopy(old)
    at(new, *STOCK_GET)["parameters"].pop(0)
    del at(new, "paths", "/reservations", "post")["requestBody"]
    findings = {f.rule: f.severity for f in diff(old, new)}
    assert findings["request-parameter-removed-without-deprecation"] is Severity.ERROR
    assert findings["request-body-removed"] is Severity.ERROR
