"""Every lint rule has a passing and a failing example."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from policies import load_pack
from registry.diff.compatibility import Side
from registry.lint import LINT_RULES, lint_document
from stockplane.documents import Document

GOOD_API = yaml.safe_load("""
openapi: 3.0.3
info: {title: Stock, version: 1.2.0}
servers: [{url: "https://api.example.com/v1"}]
security: [{oauth: [stock.read]}]
components:
  securitySchemes:
    oauth: {type: oauth2, flows: {clientCredentials: {tokenUrl: "https://auth.example.com/token", scopes: {stock.read: read}}}}
  schemas:
    Problem: {type: object, properties: {type: {type: string, maxLength: 200}, title: {type: string, maxLength: 200}}}
    Reservation:
      type: object
      required: [sku, quantity]
      properties:
        sku: {type: string, maxLength: 40}
        quantity: {type: integer}
        lines: {type: array, maxItems: 50, items: {type: string, maxLength: 40}}
paths:
  /stock:
    get:
      operationId: listStock
      summary: List stock levels
      tags: [stock]
      parameters:
        - {name: limit, in: query, schema: {type: integer, maximum: 100}}
        - {name: cursor, in: query, schema: {type: string, maxLength: 100}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, properties: {items: {type: array, items: {type: string}}}}}}}
        "400": {description: bad request, content: {application/problem+json: {schema: {$ref: "#/components/schemas/Problem"}}}}
  /reservations:
    post:
      operationId: createReservation
      summary: Reserve stock
      tags: [reservations]
      parameters: [{name: Idempotency-Key, in: header, required: true, schema: {type: string, maxLength: 64}}]
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Reservation"}}}}
      responses: {"201": {description: created}}
""")

GOOD_EVENT: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["event_id", "correlation_id", "occurred_at", "schema_version", "source"],
    "properties": {
        "event_id": {"type": "string", "maxLength": 128},
        "correlation_id": {"type": "string", "maxLength": 128},
        "occurred_at": {"type": "string", "format": "date-time"},
        "schema_version": {"type": "string"},
        "source": {"type": "object", "properties": {"system": {"type": "string"}}},
        "location_id": {"type": "string", "maxLength": 64},
        "quantity": {"type": "integer"},
        "inventory_status": {"enum": ["available", "reserved"]},
    },
}

GET, POST = ("paths", "/stock", "get"), ("paths", "/reservations", "post")
RESERVATION = ("components", "schemas", "Reservation", "properties")


def at(doc: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        doc = doc[key]
    return doc


CASES: dict[str, tuple[str, Callable[[dict[str, Any]], None]]] = {
    "openapi-security-scheme-undefined": (
        "openapi",
        lambda d: at(d, *POST).update(security=[{"apiKey": []}]),
    ),
    "openapi-operation-unsecured": ("openapi", lambda d: d.pop("security")),
    "openapi-operation-id-missing": ("openapi", lambda d: at(d, *GET).pop("operationId")),
    "openapi-operation-id-duplicate": ("openapi", lambda d: at(d, *POST).update(operationId="listStock")),
    "openapi-operation-summary-missing": ("openapi", lambda d: at(d, *GET).pop("summary")),
    "openapi-operation-tags-missing": ("openapi", lambda d: at(d, *GET).pop("tags")),
    "openapi-error-not-problem-json": (
        "openapi",
        lambda d: at(d, *GET, "responses", "400").update(
            content={"application/json": {"schema": {"type": "object"}}}
        ),
    ),
    "openapi-list-not-paginated": ("openapi", lambda d: at(d, *GET).pop("parameters")),
    "openapi-version-missing": ("openapi", lambda d: d.update(servers=[{"url": "https://api.example.com"}])),
    "openapi-server-not-https": (
        "openapi",
        lambda d: d.update(servers=[{"url": "http://api.example.com/v1"}]),
    ),
    "openapi-request-string-unbounded": ("openapi", lambda d: at(d, *RESERVATION, "sku").pop("maxLength")),
    "openapi-request-array-unbounded": ("openapi", lambda d: at(d, *RESERVATION, "lines").pop("maxItems")),
    "openapi-idempotency-key-missing": ("openapi", lambda d: at(d, *POST).pop("parameters")),
    "openapi-deprecated-without-sunset": ("openapi", lambda d: at(d, *GET).update(deprecated=True)),
    "openapi-info-version-not-semver": ("openapi", lambda d: d["info"].update(version="latest")),
    "event-envelope-field-missing": ("jsonschema", lambda d: d["required"].remove("correlation_id")),
    "event-envelope-field-type": (
        "jsonschema",
        lambda d: d["properties"]["occurred_at"].update(type="integer"),
    ),
    "event-status-not-canonical": (
        "jsonschema",
        lambda d: d["properties"]["inventory_status"]["enum"].append("on_hand"),
    ),
    "event-quantity-not-integer": ("jsonschema", lambda d: d["properties"]["quantity"].update(type="number")),
    "event-id-unbounded": ("jsonschema", lambda d: d["properties"]["location_id"].pop("maxLength")),
    "event-schema-dialect-missing": ("jsonschema", lambda d: d.pop("$schema")),
}


def lint(data: dict[str, Any], kind: str) -> list:
    return lint_document(Side.of(Document(data=data, source="doc.yaml")), kind, load_pack())


def test_every_rule_has_a_case() -> None:
    assert set(CASES) == set(LINT_RULES)
    assert len(LINT_RULES) >= 20


@pytest.mark.parametrize("kind", ["openapi", "jsonschema"])
def test_the_good_documents_pass_every_rule(kind: str) -> None:
    good = GOOD_API if kind == "openapi" else GOOD_EVENT
    assert lint(copy.deepcopy(good), kind) == []


@pytest.mark.parametrize("rule", sorted(CASES))
def test_each_rule_fails_its_bad_example(rule: str) -> None:
    kind, mutate = CASES[rule]
    bad = copy.deepcopy(GOOD_API if kind == "openapi" else GOOD_EVENT)
    mutate(bad)
    fired = {finding.rule for finding in lint(bad, kind)}
    assert rule in fired


def test_pack_changes_severity_disables_rules_and_sets_options(tmp_path: Path) -> None:
    (tmp_path / "pack.yaml").write_text("name: strict-shop\nversion: 1.0.0\nextends: retail-omnichannel\n")
    (tmp_path / "lint.yaml").write_text(
        "rules:\n"
        "  openapi-operation-summary-missing: {severity: error}\n"
        "  openapi-operation-tags-missing: {enabled: false}\n"
        "  openapi-idempotency-key-missing: {options: {pattern: stock}}\n"
    )
    pack = load_pack(tmp_path)
    bad = copy.deepcopy(GOOD_API)
    at(bad, *GET).pop("summary")
    at(bad, *GET).pop("tags")
    at(bad, *GET)["responses"]["200"]["content"]["application/json"]["schema"] = {"type": "object"}
    d = copy.deepcopy(bad)
    d["paths"]["/stock"]["post"] = {
        "operationId": "adjustStock",
        "summary": "s",
        "tags": ["t"],
        "responses": {"200": {"description": "ok"}},
    }
    findings = {f.rule: f for f in lint_document(Side.of(Document(data=d, source="x")), "openapi", pack)}
    assert findings["openapi-operation-summary-missing"].severity.value == "error"
    assert "openapi-operation-tags-missing" not in findings
    assert "openapi-idempotency-key-missing" in findings  # /stock now matches the pattern


def test_lint_from_the_cli_reports_lines_and_the_pack(cli, tmp_path: Path) -> None:
    bad = copy.deepcopy(GOOD_API)
    bad.pop("security")
    path = tmp_path / "api.json"
    path.write_text(json.dumps(bad, indent=2))
    result = cli("contracts", "lint", path, "--format", "json")
    assert result.code == 1
    report = json.loads(result.stdout)
    assert report["policy_pack"] == "retail-omnichannel@1.0.0"
    finding = next(f for f in report["findings"] if f["rule"] == "openapi-operation-unsecured")
    assert finding["location"]["line"] > 1
    good = tmp_path / "good.json"
    good.write_text(json.dumps(GOOD_API))
    assert cli("contracts", "lint", good).code == 0
    sarif = json.loads(cli("contracts", "lint", path, "--format", "sarif").stdout)
    assert sarif["runs"][0]["properties"]["policyPack"] == "retail-omnichannel@1.0.0"
