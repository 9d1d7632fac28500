"""The contracts CLI end to end: exit codes, formats, waivers, git revisions, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from stockplane.settings import get_settings
from tests.conftest import FIXTURES

V1 = FIXTURES / "openapi" / "stock-v1.yaml"
V2 = FIXTURES / "openapi" / "stock-v2.yaml"


def test_identical_documents_pass(cli) -> None:
    result = cli("contracts", "diff", V1, V1)
    assert result.code == 0
    assert result.stdout.startswith("OK")


def test_breaking_change_fails_with_exit_1(cli) -> None:
    result = cli("contracts", "diff", V1, V2, "--no-color")
    assert result.code == 1
    assert "request-parameter-became-required" in result.stdout
    assert "FAIL" in result.stdout
    assert result.stderr == ""


def test_fail_on_levels(cli) -> None:
    assert cli("contracts", "diff", V1, V2, "--fail-on", "never").code == 0
    assert cli("contracts", "diff", V1, V1, "--fail-on", "warning").code == 0


def test_json_report_structure(cli) -> None:
    result = cli("contracts", "diff", V1, V2, "--format", "json")
    report = json.loads(result.stdout)
    assert report["format"] == "stockplane.diff"
    assert report["version"] == 1
    assert report["failed"] is True
    assert report["summary"]["error"] == sum(1 for f in report["findings"] if f["severity"] == "error")
    finding = next(f for f in report["findings"] if f["rule"] == "request-property-max-length-decreased")
    assert finding["location"]["file"] == str(V2)
    assert V2.read_text().splitlines()[finding["location"]["line"] - 1].strip().startswith("sku:")
    assert (finding["old"], finding["new"]) == (20, 10)


def test_junit_has_a_case_per_rule_and_failures_for_findings(cli) -> None:
    result = cli("contracts", "diff", V1, V2, "--format", "junit")
    suite = ET.fromstring(result.stdout)
    cases = suite.findall("testcase")
    assert len(cases) == int(suite.get("tests")) > 50
    failed = {case.get("name") for case in cases if case.find("failure") is not None}
    assert "request-parameter-became-required" in failed
    assert "api-operation-id-changed" not in failed  # a warning does not fail the default gate
    assert int(suite.get("failures")) == len(failed)


def test_sarif_output(cli) -> None:
    sarif = json.loads(cli("contracts", "diff", V1, V2, "--format", "sarif").stdout)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
    located = [r for r in run["results"] if "region" in r["locations"][0]["physicalLocation"]]
    assert located and all(r["locations"][0]["physicalLocation"]["region"]["startLine"] > 0 for r in located)


def test_github_annotations_and_step_summary(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = cli("contracts", "diff", V1, V2, "--format", "github")
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"::error file={V2},line=") for line in lines)
    assert any(line.startswith("::warning ") for line in lines)
    assert "| Severity | Rule | Location | Change |" in summary.read_text()


def test_markdown_table(cli) -> None:
    result = cli("contracts", "diff", V1, V2, "--format", "markdown")
    assert "breaking changes found" in result.stdout
    assert "| 🛑 error | `request-parameter-became-required` |" in result.stdout


def test_output_file(cli, tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    result = cli("contracts", "diff", V1, V2, "--format", "json", "--output", target)
    assert result.code == 1
    assert result.stdout == ""
    assert json.loads(target.read_text())["summary"]["error"] > 0


def test_waivers_waive_and_expire(cli, tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    report = json.loads(cli("contracts", "diff", V1, V2, "--format", "json").stdout)
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    entries = [
        {
            "rule": f["rule"],
            "location": f["location"]["pointer"],
            "reason": "agreed with consumers",
            "expires": "2999-01-01",
        }
        for f in errors
    ]
    waivers.write_text(json.dumps({"waivers": entries}))
    waived = cli("contracts", "diff", V1, V2, "--ignore", waivers, "--format", "json")
    assert waived.code == 0
    body = json.loads(waived.stdout)
    assert body["summary"]["waived"] == len(errors)
    assert all(f["waived"] for f in body["findings"] if f["severity"] == "error")

    entries[0]["expires"] = "2001-01-01"
    waivers.write_text(json.dumps(entries))
    expired = json.loads(cli("contracts", "diff", V1, V2, "--ignore", waivers, "--format", "json").stdout)
    assert "waiver-expired" in {f["rule"] for f in expired["findings"]}
    assert expired["failed"] is True


def test_waiver_with_wildcard_location(cli, tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "- rule: request-parameter-became-required\n  location: /paths/*\n  reason: internal API\n  expires: 2999-01-01\n"
    )
    report = json.loads(cli("contracts", "diff", V1, V2, "--ignore", waivers, "--format", "json").stdout)
    (finding,) = [f for f in report["findings"] if f["rule"] == "request-parameter-became-required"]
    assert finding["waived"] and finding["waiver_reason"] == "internal API"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- rule: no-such-rule\n  reason: x\n", "unknown rule"),
        ("- rule: api-removed-without-deprecation\n", "reason is required"),
        ("- rule: api-removed-without-deprecation\n  reason: x\n  expires: soon\n", "not a date"),
        ("waivers: {}\n", "must be a list"),
    ],
)
def test_bad_waiver_file_is_exit_2(cli, tmp_path: Path, content: str, message: str) -> None:
    waivers = tmp_path / "w.yaml"
    waivers.write_text(content)
    result = cli("contracts", "diff", V1, V2, "--ignore", waivers)
    assert result.code == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_old_version_from_a_git_revision(cli, git_repo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = git_repo({"api/openapi.yaml": V1.read_text(), "api/schemas/x.yaml": "type: string\n"})
    git_repo({"api/openapi.yaml": V2.read_text()})
    monkeypatch.chdir(repo)
    result = cli("contracts", "diff", "HEAD~1:api/openapi.yaml", "api/openapi.yaml", "--format", "json")
    assert result.code == 1, result.stderr
    assert json.loads(result.stdout)["old"] == "HEAD~1:api/openapi.yaml"
    missing = cli("contracts", "diff", "HEAD~1:api/nope.yaml", "api/openapi.yaml")
    assert missing.code == 2
    assert "not found in git" in missing.stderr


def test_git_revision_resolves_relative_refs_from_the_same_revision(
    cli, git_repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = {"type": "object", "properties": {"sku": {"$ref": "types.json#/Sku"}}}
    repo = git_repo(
        {"events/stock.json": json.dumps(schema), "events/types.json": '{"Sku": {"type": "string"}}'}
    )
    git_repo({"events/types.json": '{"Sku": {"type": "integer"}}'})
    monkeypatch.chdir(repo)
    result = cli("contracts", "diff", "HEAD~1:events/stock.json", "events/stock.json", "--format", "json")
    assert result.code == 1, result.stderr
    assert {f["rule"] for f in json.loads(result.stdout)["findings"]} == {"schema-type-changed"}


def test_event_schema_modes_from_the_cli(cli, tmp_path: Path) -> None:
    old = tmp_path / "v1.json"
    new = tmp_path / "v2.json"
    old.write_text(
        json.dumps(
            {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "properties": {"s": {"enum": ["a"]}},
            }
        )
    )
    new.write_text(
        json.dumps(
            {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "properties": {"s": {"enum": ["a", "b"]}},
            }
        )
    )
    assert cli("contracts", "diff", old, new).code == 0
    forward = cli("contracts", "diff", old, new, "--mode", "FORWARD")
    assert forward.code == 1
    assert "schema-enum-value-added" in forward.stdout
    assert cli("contracts", "diff", old, new, "--mode", "full_transitive", "--earlier", old).code == 1
    assert cli("contracts", "diff", old, new, "--earlier", old).code == 2


BAD_INPUTS = {
    "invalid YAML": b"openapi: 3.0.3\ninfo: [unclosed\n",
    "unknown kind": b"hello: world\n",
    "invalid spec": b"openapi: 3.0.3\ninfo: {title: x}\npaths: {}\n",
    "swagger 2": b"swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}\n",
    "cyclic ref": b'{"definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"$ref": "#/definitions/a"}}, "properties": {"x": {"$ref": "#/definitions/a"}}}',
    "remote ref": b'{"type": "object", "properties": {"x": {"$ref": "https://example.com/s.json"}}}',
    "escaping ref": b'{"type": "object", "properties": {"x": {"$ref": "../../etc/passwd"}}}',
    "deep nesting": b'{"a": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    "binary garbage": bytes(range(256)) * 4,
    "invalid schema": b'{"$schema": "http://json-schema.org/draft-07/schema#", "type": "strang"}',
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_bad_input_is_exit_2_with_one_line(cli, tmp_path: Path, case: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(BAD_INPUTS[case])
    good = tmp_path / "good.json"
    good.write_text('{"type": "object"}')
    result = cli("contracts", "diff", good, bad)
    assert result.code == 2, result
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("stockplane: error: ")
    assert "Traceback" not in result.stderr


def test_fifty_megabyte_file_is_refused(cli, tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.write(b"openapi: 3.0.3\n")
        handle.truncate(50 * 1024 * 1024)
    result = cli("contracts", "diff", big, big)
    assert result.code == 2
    assert "over the 20.0 MB limit" in result.stderr


def test_missing_file_and_bad_options(cli, tmp_path: Path) -> None:
    assert "cannot read" in cli("contracts", "diff", tmp_path / "nope.yaml", V1).stderr
    assert cli("contracts", "diff", V1, V2, "--format", "pdf").code == 2
    assert cli("contracts", "diff", V1, V2, "--mode", "SIDEWAYS").code == 2
    assert cli("contracts", "diff", V1, V2, "--deprecation-days", "-1").code == 2


def test_validate(cli, tmp_path: Path) -> None:
    assert cli("contracts", "validate", V1).code == 0
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("openapi: 3.1.0\ninfo:\n  title: x\npaths:\n  noslash: {}\n")
    result = cli("contracts", "validate", invalid)
    assert result.code == 1
    assert "'version' is a required property" in result.stdout
    assert "invalid (2 problem(s))" in result.stdout
    schema = tmp_path / "s.json"
    schema.write_text(
        '{"$schema": "http://json-schema.org/draft-04/schema#", "type": "object", "required": []}'
    )
    assert cli("contracts", "validate", schema).code == 1  # draft-04 requires a non-empty list
    schema.write_text(
        '{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "required": []}'
    )
    assert cli("contracts", "validate", schema).code == 0
    swagger = tmp_path / "swagger.yaml"
    swagger.write_text("swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}\n")
    refused = cli("contracts", "validate", swagger)
    assert refused.code == 2
    assert "convert it to OpenAPI 3 first" in refused.stderr


def test_validate_reports_numeric_version(cli, tmp_path: Path) -> None:
    doc = tmp_path / "v.yaml"
    doc.write_text("openapi: 3.0.3\ninfo:\n  title: x\n  version: 1.10\npaths: {}\n")
    result = cli("contracts", "validate", doc, "--format", "json")
    payload = json.loads(result.stdout)
    assert payload["valid"] is True
    assert payload["warnings"][0]["line"] == 4


def test_help_explains_commands(cli) -> None:
    result = cli("contracts", "diff", "--help")
    assert result.code == 0
    assert "GITREV:path" in result.stdout
    assert "--fail-on" in result.stdout


@pytest.mark.slow
def test_console_script_runs_in_a_subprocess() -> None:
    script = Path(sys.executable).with_name("stockplane")
    completed = subprocess.run(
        [str(script), "contracts", "diff", str(V1), str(V2), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 1
    assert json.loads(completed.stdout)["summary"]["error"] > 0


def test_large_documents_get_the_basic_structural_check(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a response without a description is invalid OpenAPI 3.0, but harmless to the diff
    lax = tmp_path / "lax.yaml"
    lax.write_text(
        "openapi: 3.0.3\ninfo: {title: x, version: '1.0.0'}\npaths:\n  /a:\n    get:\n      responses:\n        '200': {}\n"
    )
    assert cli("contracts", "diff", lax, lax).code == 2  # small: fully validated
    assert cli("contracts", "diff", lax, lax, "--validate", "basic").code == 0
    monkeypatch.setenv("STOCKPLANE_REGISTRY__FULL_VALIDATION_MAX_BYTES", "10")
    get_settings.cache_clear()
    assert cli("contracts", "diff", lax, lax).code == 0  # "large": structural check only
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "openapi: 3.0.3\ninfo: {title: x, version: '1.0.0'}\npaths:\n  /a:\n    get:\n      parameters: [{name: q}]\n"
    )
    result = cli("contracts", "diff", lax, broken)
    assert result.code == 2
    assert "a parameter needs a 'name' and an 'in'" in result.stderr


def test_check_lints_and_diffs_against_the_base_revision(
    cli, git_repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    event_v1 = {"type": "object", "properties": {"qty": {"type": "integer"}}}
    repo = git_repo({"api/openapi.yaml": V1.read_text(), "events/stock.json": json.dumps(event_v1)})
    monkeypatch.chdir(repo)

    def rules(*args: str) -> set[str]:
        result = cli("contracts", "check", *args, "--format", "json", "--fail-on", "never")
        assert result.code == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["policy_pack"] == "retail-omnichannel@1.0.0"
        return {f["rule"] for f in report["findings"]}

    unchanged = rules("api/openapi.yaml", "events/stock.json", "--base", "HEAD")
    assert "openapi-operation-unsecured" in unchanged  # lint runs on every file
    assert "event-envelope-field-missing" in unchanged
    assert not any(rule.startswith(("request-", "response-", "schema-")) for rule in unchanged)

    (repo / "api" / "openapi.yaml").write_text(V2.read_text())
    (repo / "events" / "stock.json").write_text(
        json.dumps({"type": "object", "properties": {"qty": {"type": "string"}}})
    )
    (repo / "events" / "new.json").write_text('{"type": "object"}')
    changed = rules("api/openapi.yaml", "events/stock.json", "events/new.json", "--base", "HEAD")
    assert {
        "schema-type-changed",
        "request-parameter-became-required",
        "event-quantity-not-integer",
    } <= changed
    assert not any(r.startswith("schema-") for r in rules("events/stock.json"))  # no --base: no diff
    against = rules("api/openapi.yaml", "--against", "HEAD:api/openapi.yaml")
    assert "request-parameter-became-required" in against
    junit = ET.fromstring(
        cli(
            "contracts",
            "check",
            "api/openapi.yaml",
            "events/stock.json",
            "--base",
            "HEAD",
            "--format",
            "junit",
        ).stdout
    )
    failed = {case.get("name") for case in junit.findall("testcase") if case.find("failure") is not None}
    assert {
        "schema-type-changed",
        "request-parameter-became-required",
        "openapi-operation-unsecured",
    } <= failed
    assert cli("contracts", "check", "api/openapi.yaml", "events/stock.json", "--against", "x.yaml").code == 2


def test_check_validates_new_files_and_needs_one(cli, git_repo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = git_repo({"README": "x"})
    monkeypatch.chdir(repo)
    (repo / "bad.json").write_text('{"type": "strang"}')
    result = cli("contracts", "check", "bad.json")
    assert result.code == 2
    assert "not a valid jsonschema document" in result.stderr
    assert cli("contracts", "check").code == 2
