"""``stockplane contracts``: validate and diff contracts offline, as a CI gate.

Exit codes: 0 nothing at or above ``--fail-on``; 1 the check found problems; 2 bad usage
or input that cannot be read (one line on stderr).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import orjson
import typer

from policies import PolicyPack, load_pack
from policies.cli import selected_pack
from stockplane.errors import UsageError
from stockplane.settings import get_settings

from .diff.compatibility import Mode
from .diff.engine import DiffReport
from .diff.findings import Severity
from .gate import GateOptions, check_files, compare, lint_file, publish
from .kinds import detect_kind
from .reports import FORMATS
from .rulebook import ALL_RULES as RULES
from .rules_doc import render_rules_markdown
from .sources import open_side
from .validation import validate_document

app = typer.Typer(
    help="Validate API and event contracts and detect breaking changes between versions.",
    no_args_is_help=True,
)


class KindOption(StrEnum):
    auto = "auto"
    openapi = "openapi"
    jsonschema = "jsonschema"


class PolicyOption(StrEnum):
    strict = "strict"
    lenient = "lenient"


class Validation(StrEnum):
    auto = "auto"
    full = "full"
    basic = "basic"


class FailOn(StrEnum):
    error = "error"
    warning = "warning"
    never = "never"


OutputFormat = StrEnum("OutputFormat", {name: name for name in FORMATS})  # type: ignore[misc]

# Options shared by `diff` and `check`.
KindArg = Annotated[KindOption, typer.Option(help="Document kind; auto detects `openapi:` or a JSON Schema.")]
ModeArg = Annotated[
    Mode | None,
    typer.Option(
        case_sensitive=False,
        help="Compatibility mode for event schemas [default: the policy pack's, else BACKWARD]. "
        "OpenAPI always protects existing clients: requests are read by the new version, responses by old clients.",
    ),
]
PolicyArg = Annotated[
    PolicyOption | None,
    typer.Option(
        help="strict: open content models are taken literally; lenient: adding an optional property is "
        "compatible [default: the policy pack's, else lenient]."
    ),
]
FormatArg = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]
FailOnArg = Annotated[FailOn, typer.Option(help="Exit 1 when a finding at or above this severity remains.")]
IgnoreArg = Annotated[
    Path | None, typer.Option(help="YAML file of waivers: {rule, location, reason, expires}.")
]
OutputArg = Annotated[
    Path | None, typer.Option(help="Write the report to this file instead of standard output.")
]
DeprecationArg = Annotated[
    int | None,
    typer.Option(
        min=0, help="Minimum notice between deprecation and x-sunset, in days [default: the pack's, else 90]."
    ),
]
ValidateArg = Annotated[
    Validation,
    typer.Option(
        "--validate",
        help="Check documents first: full (against the specification), basic (the structure the diff relies on; "
        "fast) or auto (full up to STOCKPLANE_REGISTRY__FULL_VALIDATION_MAX_BYTES, 1 MiB by default).",
    ),
]
ColorArg = Annotated[
    bool | None,
    typer.Option("--color/--no-color", help="Colour the text output (default: when writing to a terminal)."),
]
PackArg = Annotated[
    str | None,
    typer.Option(
        "--policy-pack",
        help="Policy pack folder or built-in name (default: $STOCKPLANE_POLICY_PACK, else retail-omnichannel).",
    ),
]


def _gate(
    kind: KindOption,
    mode: Mode | None,
    policy: PolicyOption | None,
    deprecation_days: int | None,
    validate: Validation,
    ignore: Path | None,
    pack: PolicyPack | None,
) -> GateOptions:
    return GateOptions(
        kind=kind.value,
        mode=mode,
        policy=policy.value if policy else None,
        deprecation_days=deprecation_days,
        validation=validate.value,
        waivers=ignore,
        pack=pack,
    )


def _finish(
    report: DiffReport, output_format: str, fail_on: FailOn, output: Path | None, color: bool | None
) -> None:
    threshold = None if fail_on is FailOn.never else Severity(fail_on.value)
    use_color = color if color is not None else (output is None and sys.stdout.isatty())
    publish(report, output_format, fail_on=threshold, output=output, color=use_color)
    raise typer.Exit(1 if report.fails(threshold) else 0)


@app.command()
def diff(
    old: Annotated[
        str,
        typer.Argument(help="The old version: a file, or GITREV:path (e.g. origin/main:api/openapi.yaml)."),
    ],
    new: Annotated[str | None, typer.Argument(help="The new version: a file, or GITREV:path.")] = None,
    kind: KindArg = KindOption.auto,
    mode: ModeArg = None,
    policy: PolicyArg = None,
    output_format: FormatArg = "text",  # type: ignore[assignment]
    fail_on: FailOnArg = FailOn.error,
    ignore: IgnoreArg = None,
    output: OutputArg = None,
    deprecation_days: DeprecationArg = None,
    earlier: Annotated[
        list[str] | None,
        typer.Option(help="Earlier versions, oldest first, for the *_TRANSITIVE modes (repeatable)."),
    ] = None,
    validate: ValidateArg = Validation.auto,
    policy_pack: PackArg = None,
    color: ColorArg = None,
    from_version: Annotated[
        str | None,
        typer.Option(
            "--from", help="With --to: diff two registered versions of contract OLD in the registry."
        ),
    ] = None,
    to_version: Annotated[str | None, typer.Option("--to", help="See --from.")] = None,
    registry: Annotated[
        str | None, typer.Option(help="Registry URL for --from/--to (default: $STOCKPLANE_URL).")
    ] = None,
) -> None:
    """Report the breaking changes from OLD to NEW.

    Without a policy pack the defaults are --mode BACKWARD, --policy lenient and 90 days'
    deprecation notice; with --policy-pack (or STOCKPLANE_POLICY_PACK) the pack's
    compatibility and deprecation sections supply them.

    \b
    Examples:
      stockplane contracts diff old.yaml new.yaml
      stockplane contracts diff origin/main:api/openapi.yaml api/openapi.yaml --format github
      stockplane contracts diff v1.json v2.json --mode FULL_TRANSITIVE --earlier v0.json
      stockplane contracts diff inventory-availability-api --from 1.1.0 --to 2.0.0   (in the registry)
    """
    if from_version or to_version:
        if not (from_version and to_version) or new is not None:
            raise UsageError("a registry diff takes a contract name with --from and --to, and no second file")
        from .remote_cli import remote_diff

        remote_diff(old, from_version, to_version, registry, output_format.value, fail_on, output)
        return
    if new is None:
        raise UsageError("name the NEW version too (or use --from and --to for registered versions)")
    chosen = selected_pack(policy_pack)
    pack = load_pack(chosen) if chosen else None
    options = _gate(kind, mode, policy, deprecation_days, validate, ignore, pack)
    report = compare(old, new, options, get_settings().registry, earlier=earlier or [])
    _finish(report, output_format.value, fail_on, output, color)


@app.command()
def lint(
    file: Annotated[str, typer.Argument(help="The document: a file, or GITREV:path.")],
    kind: KindArg = KindOption.auto,
    output_format: FormatArg = "text",  # type: ignore[assignment]
    fail_on: FailOnArg = FailOn.error,
    ignore: IgnoreArg = None,
    output: OutputArg = None,
    validate: ValidateArg = Validation.auto,
    policy_pack: PackArg = None,
    color: ColorArg = None,
) -> None:
    """Apply the policy pack's governance rules to one contract.

    \b
    Examples:
      stockplane contracts lint api/openapi.yaml
      stockplane contracts lint events/inventory-adjusted.json --format sarif --output lint.sarif
    """
    pack = load_pack(selected_pack(policy_pack))
    options = _gate(kind, None, None, None, validate, ignore, pack)
    report = lint_file(file, options, get_settings().registry)
    _finish(report, output_format.value, fail_on, output, color)


@app.command()
def check(
    files: Annotated[list[str], typer.Argument(help="Contract files in the working tree.")],
    against: Annotated[
        str | None,
        typer.Option(help="Also diff the (single) FILE against this old version: a file or GITREV:path."),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(
            help="Also diff each FILE against its version at this git revision (files new since then are not diffed)."
        ),
    ] = None,
    kind: KindArg = KindOption.auto,
    mode: ModeArg = None,
    policy: PolicyArg = None,
    output_format: FormatArg = "text",  # type: ignore[assignment]
    fail_on: FailOnArg = FailOn.error,
    ignore: IgnoreArg = None,
    output: OutputArg = None,
    deprecation_days: DeprecationArg = None,
    validate: ValidateArg = Validation.auto,
    policy_pack: PackArg = None,
    color: ColorArg = None,
    name: Annotated[
        str | None, typer.Option(help="Check FILE against this contract in a running registry instead.")
    ] = None,
    registry: Annotated[
        str | None, typer.Option(help="Registry URL for --name (default: $STOCKPLANE_URL).")
    ] = None,
) -> None:
    """Validate, lint and (with --against or --base) diff contracts: one report, one exit code.

    This is the command a CI job or pre-commit hook runs. The policy pack supplies the
    lint rules and the compatibility defaults.

    \b
    Examples:
      stockplane contracts check api/openapi.yaml --against origin/main:api/openapi.yaml
      stockplane contracts check api/openapi.yaml events/*.json --base origin/main --format sarif --output contracts.sarif
      stockplane contracts check api/openapi.yaml --name inventory-availability-api --registry http://registry:8000
    """
    if name is not None:
        if len(files) != 1:
            raise UsageError("--name checks one file against the registry")
        from .remote_cli import remote_check

        remote_check(Path(files[0]), name, registry, output_format.value, fail_on, output)
        return
    pack = load_pack(selected_pack(policy_pack))
    options = _gate(kind, mode, policy, deprecation_days, validate, ignore, pack)
    report = check_files(files, options, get_settings().registry, base=base, against=against)
    _finish(report, output_format.value, fail_on, output, color)


@app.command()
def validate(
    file: Annotated[str, typer.Argument(help="The document: a file, or GITREV:path.")],
    kind: KindArg = KindOption.auto,
    output_format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Check a document: OpenAPI 3.0/3.1 against its specification, a JSON Schema against its metaschema.

    Exit 0 valid, 1 invalid (every problem listed), 2 unreadable input.
    """
    if output_format not in ("text", "json"):
        raise UsageError(f"--format must be text or json, not {output_format!r}")
    document = open_side(file, get_settings().registry).document
    found = detect_kind(document.data, document.source, kind.value)
    problems = validate_document(document, found)
    if output_format == "json":
        payload = {
            "file": document.source,
            "kind": found,
            "valid": not problems,
            "problems": [{"pointer": p.pointer, "line": p.line, "message": p.message} for p in problems],
            "warnings": [
                {"pointer": w.pointer, "line": w.line, "message": w.message} for w in document.warnings
            ],
        }
        typer.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())
    else:
        for warning in document.warnings:
            typer.echo(f"{document.source}:{warning.line or ''}: warning: {warning.message}")
        for problem in problems:
            typer.echo(f"{document.source}:{problem.line or ''}: {problem.pointer or '/'}: {problem.message}")
        verdict = "valid" if not problems else f"invalid ({len(problems)} problem(s))"
        typer.echo(f"{document.source}: {found} document is {verdict}")
    raise typer.Exit(1 if problems else 0)


@app.command()
def rules(
    output_format: Annotated[
        str, typer.Option("--format", help="text, markdown (docs/rules.md) or json.")
    ] = "text",
) -> None:
    """List every rule the diff can report, with its severity."""
    if output_format == "markdown":
        typer.echo(render_rules_markdown(), nl=False)
    elif output_format == "json":
        listing = [
            {
                "id": r.id,
                "severity": r.severity.value,
                "group": r.group,
                "summary": r.summary,
                "example": r.example,
            }
            for r in RULES.values()
        ]
        typer.echo(orjson.dumps(listing, option=orjson.OPT_INDENT_2).decode())
    elif output_format == "text":
        for rule in RULES.values():
            typer.echo(f"{rule.severity.value:<8} {rule.id:<55} {rule.summary}")
    else:
        raise UsageError(f"--format must be text, markdown or json, not {output_format!r}")


from . import remote_cli  # noqa: E402, F401  (registers the registry commands on `app`)
