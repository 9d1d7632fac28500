"""`stockplane contracts` commands that talk to a running registry (STOCKPLANE_URL,
STOCKPLANE_API_KEY). A refusal (409) prints the findings and exits 1, like a failed check;
anything else the server rejects is one line on stderr and exit 2."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from stockplane.client import Client, Refused
from stockplane.errors import DocumentError

from .cli import FailOn, FailOnArg, FormatArg, OutputArg, _finish, app
from .diff.compatibility import Mode
from .diff.engine import DiffReport
from .diff.findings import Finding, Location, Severity

consumers_app = typer.Typer(
    help="Register and list the systems that consume a contract.", no_args_is_help=True
)
app.add_typer(consumers_app, name="consumers")

UrlArg = Annotated[str | None, typer.Option("--registry", help="Registry URL (default: $STOCKPLANE_URL).")]
JsonArg = Annotated[bool, typer.Option("--json", help="Print the server's JSON answer.")]


def _print(payload: Any, as_json: bool, text: str) -> None:
    typer.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() if as_json else text)


def _findings(items: list[dict[str, Any]], source: str) -> list[Finding]:
    return [
        Finding(
            item["rule"],
            Severity(item["severity"]),
            item["message"],
            Location(item["location"].get("pointer", ""), source, item["location"].get("line")),
            item.get("old"),
            item.get("new"),
        )
        for item in items
    ]


def _refused(exc: Refused, source: str) -> None:
    typer.echo(f"refused: {exc.problem_body.get('detail')}", err=True)
    for finding in _findings(exc.problem_body.get("findings", []), source):
        typer.echo(
            f"  {finding.severity.value:<7} {finding.rule}  {finding.location}\n          {finding.message}",
            err=True,
        )
    if exc.problem_body.get("proposed_version"):
        typer.echo(f"proposed version: {exc.problem_body['proposed_version']}", err=True)
    raise typer.Exit(1)


def _change(bump: str) -> str:
    return "first version" if bump == "initial" else f"{bump} change"


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except OSError as exc:
        raise DocumentError(str(file), f"cannot read the file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise DocumentError(str(file), "cannot read the file (not UTF-8 text)") from None


@app.command()
def register(
    file: Annotated[Path, typer.Argument(help="The OpenAPI document or JSON Schema to register.")],
    name: Annotated[
        str, typer.Option(help="Contract name, e.g. inventory.adjusted or inventory-availability-api.")
    ],
    version: Annotated[
        str | None, typer.Option(help="MAJOR.MINOR.PATCH (default: proposed from the change).")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="openapi or jsonschema (default: detected).")] = None,
    owner: Annotated[str | None, typer.Option(help="Owning team, for a new contract.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check without registering.")] = False,
    registry: UrlArg = None,
    as_json: JsonArg = False,
) -> None:
    """Register a new version of a contract in a running registry.

    \b
    Example:
      stockplane contracts register api/openapi.yaml --name inventory-availability-api --owner inventory-team
    """
    body = {"content": _read(file), "version": version, "kind": kind, "owner": owner}
    try:
        result = Client(registry).post(
            f"/v1/contracts/{name}/versions", json=body, params={"dry_run": dry_run}
        )
    except Refused as exc:
        _refused(exc, str(file))
    verb = (
        "would register"
        if result["dry_run"]
        else "registered"
        if result["created"]
        else "already registered (identical content)"
    )
    _print(
        result,
        as_json,
        f"{name}@{result['version']}: {verb} ({_change(result['required_bump'])}, {len(result['findings'])} finding(s))",
    )


@app.command("list")
def list_contracts(registry: UrlArg = None, as_json: JsonArg = False) -> None:
    """List the registry's contracts."""
    client, items, cursor = Client(registry), [], None
    while True:
        page = client.get("/v1/contracts", params={"limit": 200, **({"cursor": cursor} if cursor else {})})
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    lines = [f"{c['name']:<40} {c['kind']:<10} {c['latest_version'] or '-':<10} {c['owner']}" for c in items]
    _print(items, as_json, "\n".join(lines) or "no contracts yet")


@app.command()
def show(
    name: str,
    version: Annotated[str | None, typer.Option(help="A version (default: the contract itself).")] = None,
    registry: UrlArg = None,
    as_json: JsonArg = False,
) -> None:
    """Show a contract, or one version of it with its document."""
    client = Client(registry)
    if version is None:
        contract = client.get(f"/v1/contracts/{name}")
        text = "\n".join(f"{key}: {value}" for key, value in contract.items())
        _print(contract, as_json, text)
        return
    found = client.get(f"/v1/contracts/{name}/versions/{version}")
    summary = f"{name}@{found['version']} [{found['state']}]" + (
        f" sunset {found['sunset']} → {found['replacement']}" if found["sunset"] else ""
    )
    _print(
        found, as_json, summary + "\n" + orjson.dumps(found["document"], option=orjson.OPT_INDENT_2).decode()
    )


@app.command()
def versions(name: str, registry: UrlArg = None, as_json: JsonArg = False) -> None:
    """List a contract's versions, oldest first."""
    found = Client(registry).get(f"/v1/contracts/{name}/versions")
    lines = [
        f"{v['version']:<10} {v['state']:<11} {v['sunset'] or '':<11} {v['created_at'][:19]} {v['created_by']}"
        for v in found
    ]
    _print(found, as_json, "\n".join(lines))


def remote_diff(
    name: str,
    old: str,
    new: str,
    registry: str | None,
    output_format: str,
    fail_on: FailOn,
    output: Path | None,
) -> None:
    found = Client(registry).get(f"/v1/contracts/{name}/diff", params={"from": old, "to": new})
    report = DiffReport(f"{name}@{old}", f"{name}@{new}", "remote", Mode.NONE, "lenient")
    report.findings = _findings(found["findings"], f"{name}@{new}")
    _finish(report, output_format, fail_on, output, None)


@app.command()
def deprecate(
    name: str,
    version: str,
    sunset: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="Sunset date, YYYY-MM-DD.")],
    replacement: Annotated[str | None, typer.Option(help="The version to use instead.")] = None,
    registry: UrlArg = None,
    as_json: JsonArg = False,
) -> None:
    """Deprecate a version with a sunset date (at least the pack's minimum notice ahead)."""
    try:
        found = Client(registry).post(
            f"/v1/contracts/{name}/versions/{version}/deprecate",
            json={"sunset": sunset.date().isoformat(), "replacement": replacement},
        )
    except Refused as exc:
        _refused(exc, name)
    _print(
        found,
        as_json,
        f"{name}@{version} deprecated; sunset {found['sunset']}, use {found['replacement'] or '-'} instead",
    )


@app.command()
def retire(
    name: str,
    version: str,
    force: Annotated[
        bool, typer.Option("--force", help="Admins only: retire despite consumers or an unpassed sunset.")
    ] = False,
    registry: UrlArg = None,
    as_json: JsonArg = False,
) -> None:
    """Retire a version: only after its sunset, and only when no consumer still uses it."""
    try:
        found = Client(registry).post(
            f"/v1/contracts/{name}/versions/{version}/retire", params={"force": force}
        )
    except Refused as exc:
        _refused(exc, name)
    _print(found, as_json, f"{name}@{version} retired")


@app.command()
def impact(name: str, version: str, registry: UrlArg = None, as_json: JsonArg = False) -> None:
    """Which consumers a deprecation, retirement or breaking change of VERSION would hit."""
    found = Client(registry).get(f"/v1/contracts/{name}/versions/{version}/impact")
    lines = [f"{c['system']:<24} {c['environment']:<14} {c['versions']}" for c in found["consumers"]]
    _print(found, as_json, "\n".join(lines) or f"no registered consumer uses {name}@{version}")


@consumers_app.command("add")
def consumers_add(
    name: str,
    system: Annotated[str, typer.Option(help="The consuming system, e.g. ecommerce or pos.")],
    versions_range: Annotated[
        str, typer.Option("--versions", help="An exact version, `*`, or specifiers like `>=2.0,<3`.")
    ],
    environment: Annotated[str, typer.Option(help="Environment, e.g. production.")] = "production",
    registry: UrlArg = None,
    as_json: JsonArg = False,
) -> None:
    """Record that SYSTEM consumes contract NAME at a version or range."""
    body = {"system": system, "environment": environment, "versions": versions_range}
    try:
        found = Client(registry).post(f"/v1/contracts/{name}/consumers", json=body)
    except Refused as exc:
        _refused(exc, name)
    _print(found, as_json, f"{system} ({environment}) consumes {name} {versions_range}")


@consumers_app.command("list")
def consumers_list(name: str, registry: UrlArg = None, as_json: JsonArg = False) -> None:
    """List the systems that consume contract NAME."""
    found = Client(registry).get(f"/v1/contracts/{name}/consumers")
    lines = [f"{c['system']:<24} {c['environment']:<14} {c['versions']}" for c in found]
    _print(found, as_json, "\n".join(lines) or "no consumers registered")


def remote_check(
    file: Path, name: str, registry: str | None, output_format: str, fail_on: FailOn, output: Path | None
) -> None:
    """The CI gate against a running registry: would FILE be accepted as the next version?"""
    found = Client(registry).post(f"/v1/contracts/{name}/compatibility", json={"content": _read(file)})
    report = DiffReport(f"{name} (registry)", str(file), "remote", Mode.NONE, "lenient")
    report.findings = _findings(found["findings"], str(file))
    report.policy_pack = found["policy_pack"]
    if not found["compatible"] and not any(f.severity is Severity.ERROR for f in report.findings):
        report.findings.append(
            Finding(
                "api-major-version-required",
                Severity.ERROR,
                found["detail"] or "refused",
                Location("", str(file)),
            )
        )
    _finish(report, output_format, fail_on, output, None)


__all__ = ["FailOnArg", "FormatArg", "OutputArg", "remote_check", "remote_diff"]
