"""The registry's heavy doors (registration, compatibility check) hold every role to a
document cap, count the checks in flight and keep one check's memory bounded."""

from __future__ import annotations

import json
from typing import Any

from registry import service as registry_service
from stockplane.settings import RegistrySettings, Settings
from tests.conftest import Service, measured

MiB = 1024 * 1024


def openapi_of(paths: int) -> str:
    """A valid OpenAPI 3.0 document with ``paths`` paths, one schema each (~700 bytes a path)."""
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "Generated", "version": "1.0.0"},
        "paths": {},
        "components": {
            "schemas": {},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
    for index in range(paths):
        document["components"]["schemas"][f"Item{index}"] = {
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": {"type": "string", "maxLength": 36, "description": f"Identifier of item {index}"},
                "quantity": {"type": "integer", "minimum": 0},
                "status": {"type": "string", "enum": ["available", "reserved"]},
            },
        }
        document["paths"][f"/items{index}/{{id}}"] = {
            "get": {
                "operationId": f"getItem{index}",
                "summary": f"Item {index}",
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "maxLength": 36},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {"schema": {"$ref": f"#/components/schemas/Item{index}"}}
                        },
                    }
                },
            }
        }
    return json.dumps(document, indent=1)


def test_defaults_cap_documents_sent_to_the_server_below_local_ones() -> None:
    settings = Settings().registry
    assert settings.max_api_document_bytes == 5 * MiB < settings.max_document_bytes
    assert settings.max_concurrent_checks == 2
    assert Settings().server.graceful_shutdown_seconds == 30


def test_every_role_is_held_to_the_document_cap_before_parsing(service: Service) -> None:
    service.settings.registry.max_api_document_bytes = 10_000
    big = openapi_of(20)
    assert 10_000 < len(big) < 2 * 10_000  # the body is within its limit, the document is not
    for role, path in (("viewer", "compatibility"), ("architect", "versions"), ("admin", "versions")):
        answer = service.client.post(
            f"/v1/contracts/capped/{path}", json={"content": big}, headers=service.as_role(role)
        )
        assert answer.status_code == 413, (role, answer.text)
        assert answer.json()["type"].endswith("/body-too-large")
        assert "MAX_API_DOCUMENT_BYTES" in answer.json()["detail"]
    declared = service.client.post(  # the body alone is over twice the cap: refused unread
        "/v1/contracts/capped/compatibility",
        content=b"{" + b" " * 100_000 + b"}",
        headers={**service.as_role("viewer"), "Content-Type": "application/json"},
    )
    assert declared.status_code == 413
    small = service.client.post(
        "/v1/contracts/capped/compatibility",
        json={"content": openapi_of(2)},
        headers=service.as_role("viewer"),
    )
    assert small.status_code == 200, small.text
    assert service.client.get("/v1/contracts/capped", headers=service.as_role("viewer")).status_code == 404


def test_validation_errors_still_point_into_the_body(service: Service) -> None:
    headers = {**service.as_role("architect"), "Content-Type": "application/json"}
    broken = service.client.post("/v1/contracts/x/versions", content=b"{not json", headers=headers)
    assert broken.status_code == 422
    wrong = service.client.post("/v1/contracts/x/versions", json={"content": 3}, headers=headers)
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["pointer"] == "/body/content"


def test_checks_past_the_concurrency_limit_get_429_after_authentication(service: Service) -> None:
    service.settings.registry.max_concurrent_checks = 0
    body = {"content": openapi_of(2)}
    anonymous = service.client.post("/v1/contracts/busy/compatibility", json=body)
    assert anonymous.status_code == 401
    refused = service.client.post(
        "/v1/contracts/busy/compatibility", json=body, headers=service.as_role("viewer")
    )
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["type"].endswith("/busy")
    service.settings.registry.max_concurrent_checks = RegistrySettings().max_concurrent_checks
    again = service.client.post(
        "/v1/contracts/busy/compatibility", json=body, headers=service.as_role("viewer")
    )
    assert again.status_code == 200  # the place was given back


def test_openapi_still_declares_the_document_body(service: Service) -> None:
    paths = service.client.get("/openapi.json").json()["paths"]
    for path in ("/v1/contracts/{name}/versions", "/v1/contracts/{name}/compatibility"):
        body = paths[path]["post"]["requestBody"]
        schema = body["content"]["application/json"]["schema"]
        assert body["required"] and schema["required"] == ["content"]
        assert {"408", "413", "429"} <= set(paths[path]["post"]["responses"])


def test_a_large_document_costs_a_bounded_multiple_of_its_size(service: Service) -> None:
    """Python's peak allocations while a viewer checks a changed ~400 KB document against the
    stored version: parsing, validation, lint and the diff against a stored version parsed
    for the first time (the costliest case; later checks find it cached).

    The two parsed trees alone are about 8 times the text; everything else in the request
    (the client's copies in this process too) must stay a few times the document on top.
    bench/registry_memory.py measures a real server's RSS at 5 MiB; see docs/operations.md.
    """
    stored = openapi_of(600)
    headers = {**service.as_role("architect"), "Content-Type": "application/json"}
    registered = service.client.post(
        "/v1/contracts/large/versions", content=json.dumps({"content": stored}), headers=headers
    )
    assert registered.status_code == 201, {
        f["rule"] for f in registered.json()["findings"] if f["severity"] == "error"
    }
    registry_service._PARSED.clear()  # the stored version is parsed again, inside the measurement
    changed = stored.replace('"summary": "Item 7"', '"summary": "Item seven"')
    body = json.dumps({"content": changed}).encode()
    headers = {**service.as_role("viewer"), "Content-Type": "application/json"}
    run = measured(
        lambda: service.client.post("/v1/contracts/large/compatibility", content=body, headers=headers)
    )
    answer, peak = run.value, run.peak
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["compatible"] is True
    ratio = peak / len(changed)
    print(f"{len(changed):,} bytes: peak {peak / MiB:.1f} MiB ({ratio:.1f}x) in {run.seconds:.1f} s")
    assert ratio < 20
