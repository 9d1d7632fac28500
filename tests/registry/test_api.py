"""The registry service over HTTP, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import pytest

from stockplane.database import Database
from stockplane.migrate import NotMigrated, current_revision, head_revision, upgrade
from stockplane.settings import Settings
from tests.conftest import REPO_ROOT, Service

EXAMPLES = REPO_ROOT / "docs" / "examples" / "registry"
API = "inventory-availability-api"
EVENT = "inventory.adjusted"


def content(name: str) -> str:
    return (EXAMPLES / name).read_text()


def register(service: Service, name: str, file: str, role: str = "architect", **extra: object):  # type: ignore[no-untyped-def]
    params = {"dry_run": "true"} if extra.pop("dry_run", False) else {}
    return service.client.post(
        f"/v1/contracts/{name}/versions",
        json={"content": content(file), **extra},
        headers=service.as_role(role),
        params=params,
    )


def test_migrations_from_empty_and_refusal_to_start(tmp_path: Path) -> None:
    from stockplane.app import create_app

    url = f"sqlite:///{tmp_path}/empty.db"
    database = Database(url)
    assert current_revision(database) is None
    with pytest.raises(NotMigrated, match="stockplane db upgrade"):
        create_app(Settings(database_url=url), database=database)
    upgrade(database)
    assert current_revision(database) == head_revision()
    create_app(Settings(database_url=url), database=database)
    auto = Database(f"sqlite:///{tmp_path}/auto.db")
    create_app(Settings(database_url=str(auto.url), auto_migrate=True), database=auto)
    assert current_revision(auto) == head_revision()


def test_health_and_problem_details(service: Service) -> None:
    client = service.client
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    for response in (client.get("/nowhere"), client.delete("/healthz"), client.get("/v1/contracts")):
        assert response.headers["content-type"] == "application/problem+json"
        assert {"type", "title", "status", "detail"} <= response.json().keys()
    assert client.delete("/healthz").status_code == 405
    invalid = client.post(
        "/v1/contracts/x/versions", json={"nothing": 1}, headers=service.as_role("architect")
    )
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["pointer"] == "/body/content"


def test_openapi_declares_problem_json_for_every_error(service: Service) -> None:
    schema = service.client.get("/openapi.json").json()
    assert "Problem" in schema["components"]["schemas"]
    errors = [
        (path, method, status, response)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        for status, response in operation["responses"].items()
        if status[0] in "45"
    ]
    assert errors
    assert all(list(response["content"]) == ["application/problem+json"] for *_, response in errors)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", f"/v1/contracts/{API}/versions", {"content": "{}"}),
        ("patch", f"/v1/contracts/{API}", {"owner": "x"}),
        ("post", f"/v1/contracts/{API}/consumers", {"system": "pos", "versions": "*"}),
        ("post", f"/v1/contracts/{API}/versions/1.0.0/deprecate", {"sunset": "2099-01-01"}),
        ("post", f"/v1/contracts/{API}/versions/1.0.0/retire", None),
    ],
)
def test_writes_need_the_architect_role(service: Service, method: str, path: str, body: dict | None) -> None:
    client = service.client
    assert register(service, API, "availability-api-1.0.0.yaml").status_code == 201
    assert getattr(client, method)(path, json=body).status_code == 401
    assert (
        getattr(client, method)(path, json=body, headers={"Authorization": "Bearer sp_nope_nope"}).status_code
        == 401
    )
    for role in ("viewer", "ingest"):
        response = getattr(client, method)(path, json=body, headers=service.as_role(role))
        assert response.status_code == 403, role
        assert "needs the architect role" in response.json()["detail"]


def test_reads_need_a_key_unless_anonymous_reads_are_on(service: Service) -> None:
    client = service.client
    assert client.get("/v1/contracts").status_code == 401
    assert client.get("/v1/contracts", headers=service.as_role("viewer")).status_code == 200
    client.app.state.settings = Settings(database_url="sqlite://", anonymous_read=True)
    assert client.get("/v1/contracts").status_code == 200
    assert client.post(f"/v1/contracts/{API}/versions", json={"content": "{}"}).status_code == 401


def test_revoked_keys_stop_working(service: Service) -> None:
    from stockplane.auth import revoke_key

    with service.database.session() as session:
        revoke_key(session, name="viewer-key")
    response = service.client.get("/v1/contracts", headers=service.as_role("viewer"))
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_registration_lifecycle(service: Service) -> None:
    client, architect = service.client, service.as_role("architect")
    created = register(service, API, "availability-api-1.0.0.yaml", owner="inventory-team")
    assert created.status_code == 201
    assert created.json()["registered"]["version"] == "1.0.0"
    again = register(service, API, "availability-api-1.0.0.yaml")
    assert (again.status_code, again.json()["created"], again.json()["version"]) == (200, False, "1.0.0")

    dry = register(service, API, "availability-api-1.1.0.yaml", dry_run=True)
    assert (dry.status_code, dry.json()["dry_run"], dry.json()["registered"]) == (200, True, None)
    assert client.get(f"/v1/contracts/{API}/versions", headers=architect).json()[-1]["version"] == "1.0.0"
    minor = register(service, API, "availability-api-1.1.0.yaml", version="1.1.0")
    assert minor.status_code == 201

    breaking = register(service, API, "availability-api-2.0.0.yaml")
    assert breaking.status_code == 409
    problem = breaking.json()
    assert problem["proposed_version"] == "2.0.0"
    assert "request-parameter-became-required" in {f["rule"] for f in problem["findings"]}
    under = register(service, API, "availability-api-2.0.0.yaml", version="1.2.0")
    assert under.status_code == 409
    assert "needs at least 2.0.0" in under.json()["detail"]
    major = register(service, API, "availability-api-2.0.0.yaml", version="2.0.0")
    assert major.status_code == 201
    assert major.json()["registered"]["changelog"]

    listing = client.get("/v1/contracts", headers=architect).json()
    assert listing["items"][0]["latest_version"] == "2.0.0"
    assert listing["items"][0]["owner"] == "inventory-team"
    diff = client.get(
        f"/v1/contracts/{API}/diff", params={"from": "1.1.0", "to": "2.0.0"}, headers=architect
    ).json()
    assert diff["required_bump"] == "major"
    shown = client.get(f"/v1/contracts/{API}/versions/1.0.0", headers=architect).json()
    assert shown["document"]["info"]["title"] == "Inventory availability"


def test_compatibility_endpoint_is_the_ci_gate(service: Service) -> None:
    register(service, API, "availability-api-1.1.0.yaml", version="1.1.0")
    check = service.client.post(
        f"/v1/contracts/{API}/compatibility",
        json={"content": content("availability-api-2.0.0.yaml")},
        headers=service.as_role("viewer"),
    ).json()
    assert check["compatible"] is False
    assert check["policy_pack"] == "retail-omnichannel@1.0.0"
    assert check["findings"]
    ok = service.client.post(
        f"/v1/contracts/{API}/compatibility",
        json={"content": content("availability-api-2.0.0.yaml"), "version": "2.0.0"},
        headers=service.as_role("viewer"),
    ).json()
    assert ok["compatible"] is True


def test_event_contract_defaults_come_from_the_pack(service: Service) -> None:
    created = register(service, EVENT, "inventory-adjusted-1.0.0.json")
    assert created.status_code == 201
    contract = service.client.get(f"/v1/contracts/{EVENT}", headers=service.as_role("viewer")).json()
    assert (contract["kind"], contract["compatibility_mode"], contract["compatibility_policy"]) == (
        "jsonschema",
        "BACKWARD_TRANSITIVE",
        "strict",
    )
    schema = json.loads(content("inventory-adjusted-1.0.0.json"))
    schema["properties"]["quantity"]["type"] = "string"
    refused = service.client.post(
        f"/v1/contracts/{EVENT}/versions",
        json={"content": json.dumps(schema)},
        headers=service.as_role("architect"),
    )
    assert refused.status_code == 409
    assert "event-quantity-not-integer" in {f["rule"] for f in refused.json()["findings"]}


def test_bad_documents_are_422_and_lint_failures_409(service: Service) -> None:
    architect = service.as_role("architect")
    invalid = service.client.post(
        f"/v1/contracts/{API}/versions",
        json={"content": "openapi: 3.0.3\ninfo: {title: x}\npaths: {}\n"},
        headers=architect,
    )
    assert invalid.status_code == 422
    assert invalid.json()["problems"][0]["message"] == "'version' is a required property"
    garbage = service.client.post(
        f"/v1/contracts/{API}/versions", json={"content": "a: [unclosed"}, headers=architect
    )
    assert garbage.status_code == 422
    unsecured = content("availability-api-1.0.0.yaml").replace(
        "security:\n  - oauth: [availability.read]\n", ""
    )
    refused = service.client.post(
        f"/v1/contracts/{API}/versions", json={"content": unsecured}, headers=architect
    )
    assert refused.status_code == 409
    assert "governance rule" in refused.json()["detail"]


def test_deprecation_consumers_impact_and_retirement(service: Service) -> None:
    client = service.client
    architect, admin = service.as_role("architect"), service.as_role("admin")
    register(service, API, "availability-api-1.1.0.yaml", version="1.1.0")
    register(service, API, "availability-api-2.0.0.yaml", version="2.0.0")
    soon = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    later = (dt.date.today() + dt.timedelta(days=120)).isoformat()
    too_soon = client.post(
        f"/v1/contracts/{API}/versions/1.1.0/deprecate",
        json={"sunset": soon, "replacement": "2.0.0"},
        headers=architect,
    )
    assert too_soon.status_code == 409
    assert too_soon.json()["minimum_notice_days"] == 90
    deprecated = client.post(
        f"/v1/contracts/{API}/versions/1.1.0/deprecate",
        json={"sunset": later, "replacement": "2.0.0"},
        headers=architect,
    )
    assert deprecated.json()["state"] == "deprecated"
    read = client.get(f"/v1/contracts/{API}/versions/1.1.0", headers=architect)
    assert read.headers["Deprecation"].startswith("@")
    assert read.headers["Sunset"].endswith("GMT")
    assert 'rel="successor-version"' in read.headers["Link"]

    consumer = client.post(
        f"/v1/contracts/{API}/consumers",
        json={"system": "ecommerce", "environment": "production", "versions": ">=1.0,<2"},
        headers=architect,
    )
    assert consumer.status_code == 201
    duplicate = client.post(
        f"/v1/contracts/{API}/consumers",
        json={"system": "ecommerce", "environment": "production", "versions": "*"},
        headers=architect,
    )
    assert duplicate.status_code == 409
    bad_range = client.post(
        f"/v1/contracts/{API}/consumers", json={"system": "pos", "versions": "about two"}, headers=architect
    )
    assert bad_range.status_code == 400
    assert [c["system"] for c in client.get(f"/v1/contracts/{API}/consumers", headers=architect).json()] == [
        "ecommerce"
    ]
    impact = client.get(f"/v1/contracts/{API}/versions/1.1.0/impact", headers=architect).json()
    assert [c["system"] for c in impact["consumers"]] == ["ecommerce"]
    assert (
        client.get(f"/v1/contracts/{API}/versions/2.0.0/impact", headers=architect).json()["consumers"] == []
    )

    blocked = client.post(f"/v1/contracts/{API}/versions/1.1.0/retire", headers=architect)
    assert blocked.status_code == 409
    assert "sunset" in blocked.json()["detail"] and "ecommerce" in blocked.json()["detail"]
    assert (
        client.post(
            f"/v1/contracts/{API}/versions/1.1.0/retire", params={"force": "true"}, headers=architect
        ).status_code
        == 403
    )
    forced = client.post(
        f"/v1/contracts/{API}/versions/1.1.0/retire", params={"force": "true"}, headers=admin
    )
    assert forced.json()["state"] == "retired"

    audit = client.get("/v1/audit", params={"action": "contract.version.retired"}, headers=architect).json()
    assert audit["items"][0]["summary"]["forced"] is True
    assert audit["items"][0]["actor"] == "admin-key"
    assert audit["items"][0]["policy_pack"] == "retail-omnichannel@1.0.0"


def test_audit_filters_and_cursor_pagination(service: Service) -> None:
    architect = service.as_role("architect")
    for system in ("pos", "wms", "erp", "oms", "ecommerce"):
        register(service, API, "availability-api-1.0.0.yaml")
        service.client.post(
            f"/v1/contracts/{API}/consumers", json={"system": system, "versions": "*"}, headers=architect
        )
    pages, cursor = [], None
    while True:
        params = {"limit": 2, "action": "contract.consumer.added", **({"cursor": cursor} if cursor else {})}
        page = service.client.get("/v1/audit", params=params, headers=architect).json()
        pages.append([entry["summary"]["system"] for entry in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [["ecommerce", "oms"], ["erp", "wms"], ["pos"]]
    assert service.client.get("/v1/audit", params={"cursor": "x"}, headers=architect).status_code == 400
    everyone = service.client.get("/v1/audit", params={"target": API}, headers=architect).json()["items"]
    assert {entry["action"] for entry in everyone} == {
        "contract.version.registered",
        "contract.consumer.added",
    }


def test_concurrent_registrations_give_one_winner(service: Service) -> None:
    """Two clients register different content as the same next version at once: exactly one
    201 and one 409, one row, never a 500 (whether the requests overlap or serialise)."""
    register(service, API, "availability-api-1.0.0.yaml")
    first = content("availability-api-1.0.0.yaml").replace(
        "Stock available to promise for one SKU", "Availability (first)"
    )
    second = content("availability-api-1.0.0.yaml").replace(
        "Stock available to promise for one SKU", "Availability (second)"
    )
    barrier = threading.Barrier(2)
    results: list[int] = []

    def post(body: str) -> None:
        barrier.wait()
        response = service.client.post(
            f"/v1/contracts/{API}/versions",
            json={"content": body, "version": "1.1.0"},
            headers=service.as_role("architect"),
        )
        results.append(response.status_code)

    threads = [threading.Thread(target=post, args=(body,)) for body in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [201, 409]
    versions = service.client.get(f"/v1/contracts/{API}/versions", headers=service.as_role("viewer")).json()
    assert [v["version"] for v in versions] == ["1.0.0", "1.1.0"]


def test_a_racing_insert_becomes_a_conflict_not_a_crash(service: Service) -> None:
    """Force the interleaving: B writes the same version while A holds it uncommitted."""
    from registry.models import Contract, ContractVersion
    from registry.service import _flush
    from stockplane.errors import Conflict

    register(service, API, "availability-api-1.0.0.yaml")

    def row(session, contract_id: int, tag: str) -> ContractVersion:  # type: ignore[no-untyped-def]
        now = dt.datetime.now(dt.UTC)
        return ContractVersion(
            contract_id=contract_id,
            version="9.0.0",
            major=9,
            minor=0,
            patch=0,
            content_text=tag,
            canonical_json="{}",
            content_hash=tag * 8,
            created_at=now,
            created_by="t",
        )

    first, second = service.database.sessions(), service.database.sessions()
    contract_id = first.query(Contract).one().id
    first.add(row(first, contract_id, "aaaaaaaa"))
    _flush(first, "unused")
    outcome: list[object] = []

    def write_second() -> None:
        second.add(row(second, contract_id, "bbbbbbbb"))
        try:
            _flush(second, "raced")
            outcome.append("flushed")
        except Conflict as exc:
            outcome.append(exc)

    thread = threading.Thread(target=write_second)
    thread.start()
    thread.join(timeout=1.0)  # B is now waiting on A's lock (or already refused)
    first.commit()
    thread.join()
    first.close()
    second.close()
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict), outcome


def test_update_contract_metadata(service: Service) -> None:
    register(service, API, "availability-api-1.0.0.yaml")
    changed = service.client.patch(
        f"/v1/contracts/{API}",
        json={"owner": "availability-squad", "tags": ["stock"], "compatibility_mode": "FULL"},
        headers=service.as_role("architect"),
    )
    assert changed.status_code == 200
    assert (changed.json()["owner"], changed.json()["tags"], changed.json()["compatibility_mode"]) == (
        "availability-squad",
        ["stock"],
        "FULL",
    )
    audit = service.client.get(
        "/v1/audit", params={"action": "contract.updated"}, headers=service.as_role("viewer")
    ).json()
    assert audit["items"][0]["summary"]["owner"] == "availability-squad"
    assert (
        service.client.patch(
            f"/v1/contracts/{API}",
            json={"compatibility_mode": "SOMETIMES"},
            headers=service.as_role("architect"),
        ).status_code
        == 422
    )
    assert (
        service.client.patch(
            "/v1/contracts/nope", json={"owner": "x"}, headers=service.as_role("architect")
        ).status_code
        == 404
    )


def test_transitive_mode_checks_every_earlier_live_version(service: Service) -> None:
    """v2 drops `code`, v3 brings it back as a string: each step is compatible, but v3 cannot
    read what v1 wrote. Refused under BACKWARD_TRANSITIVE, accepted under BACKWARD."""
    base = json.loads(content("inventory-adjusted-1.0.0.json"))
    base.pop("additionalProperties")  # open content, read leniently

    def version(code: dict | None) -> str:
        schema = json.loads(json.dumps(base))
        if code is not None:
            schema["properties"]["code"] = code
        return json.dumps(schema)

    architect = service.as_role("architect")

    def post(body: str, **extra: object):  # type: ignore[no-untyped-def]
        return service.client.post(
            f"/v1/contracts/{EVENT}/versions", json={"content": body, **extra}, headers=architect
        )

    first = post(
        version({"type": "integer"}), compatibility_mode="BACKWARD_TRANSITIVE", compatibility_policy="lenient"
    )
    assert first.status_code == 201
    assert post(version(None), version="1.1.0").status_code == 201
    refused = post(version({"type": "string"}), version="1.2.0")
    assert refused.status_code == 409
    assert {f["rule"] for f in refused.json()["findings"]} == {"schema-type-changed"}
    service.client.patch(f"/v1/contracts/{EVENT}", json={"compatibility_mode": "BACKWARD"}, headers=architect)
    assert post(version({"type": "string"}), version="1.2.0").status_code == 201


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    from sqlalchemy import text

    database = Database(f"sqlite:///{tmp_path}/pragmas.db")
    with database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    database.dispose()


def test_only_key_hashes_are_stored(service: Service) -> None:
    from sqlalchemy import text

    with service.database.engine.connect() as connection:
        stored = " ".join(
            str(value) for row in connection.execute(text("SELECT * FROM api_key")) for value in row
        )
    for plaintext in service.keys.values():
        assert plaintext not in stored
        assert plaintext.split("_", 2)[2] not in stored
