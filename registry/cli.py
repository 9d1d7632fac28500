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

from stockplane.errors import UsageError
from stockplane.settings import get_settings

from .diff.catalogue import RULES
from .diff.compatibility import Mode
from .diff.engine import DiffOptions
from .diff.findings import Severity
from .gate import GateOptions, check_files, compare, publish
from .kinds import detect_kind
from .reports import FORMATS
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
    Mode,
    typer.Option(
        case_sensitive=False,
        help="Compatibility mode for event schemas. OpenAPI always protects existing clients: requests are read by the new version, responses by old clients.",
    ),
]
PolicyArg = Annotated[
    PolicyOption,
    typer.Option(
        help="strict: open content models are taken literally; lenient: adding an optional property is compatible."
    ),
]
FormatArg = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]  # type: ignore[valid-type]
FailOnArg = Annotated[FailOn, typer.Option(help="Exit 1 when a finding at or above this severity remains.")]
IgnoreArg = Annotated[
    Path | None, typer.Option(help="YAML file of waivers: {rule, location, reason, expires}.")
]
OutputArg = Annotated[
    Path | None, typer.Option(help="Write the report to this file instead of standard output.")
]
DeprecationArg = Annotated[
    int, typer.Option(min=0, help="Minimum notice between deprecation and x-sunset, in days.")
]
ValidateArg = Annotated[
    Validation,
    typer.Option(
        "--validate",
        help="Check documents first: full (against the specification), basic (the structure the diff relies on; fast) or auto (full up to STOCKPLANE_REGISTRY__FULL_VALIDATION_MAX_BYTES, 1 MiB by default).",
    ),
]
ColorArg = Annotated[
    bool | None,
    typer.Option("--color/--no-color", help="Colour the text output (default: when writing to a terminal)."),
]


def _gate(
    kind: KindOption,
    mode: Mode,
    policy: PolicyOption,
    deprecation_days: int,
    validate: Validation,
    ignore: Path | None,
) -> GateOptions:
    diff_options = DiffOptions(
        kind=kind.value, mode=mode, policy=policy.value, deprecation_days=deprecation_days
    )  # type: ignore[arg-type]
    return GateOptions(diff_options, validate.value, ignore)


def _finish(report, output_format: str, fail_on: FailOn, output: Path | None, color: bool | None) -> None:  # type: ignore[no-untyped-def]
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
    new: Annotated[str, typer.Argument(help="The new version: a file, or GITREV:path.")],
    kind: KindArg = KindOption.auto,
    mode: ModeArg = Mode.BACKWARD,
    policy: PolicyArg = PolicyOption.lenient,
    output_format: FormatArg = "text",  # type: ignore[assignment]
    fail_on: FailOnArg = FailOn.error,
    ignore: IgnoreArg = None,
    output: OutputArg = None,
    deprecation_days: DeprecationArg = 90,
    earlier: Annotated[
        list[str] | None,
        typer.Option(help="Earlier versions, oldest first, for the *_TRANSITIVE modes (repeatable)."),
    ] = None,
    validate: ValidateArg = Validation.auto,
    color: ColorArg = None,
) -> None:
    """Report the breaking changes from OLD to NEW.

    \b
    Examples:
      stockplane contracts diff old.yaml new.yaml
      stockplane contracts diff origin/main:api/openapi.yaml api/openapi.yaml --format github
      stockplane contracts diff v1.json v2.json --mode FULL_TRANSITIVE --earlier v0.json
    """
    options = _gate(kind, mode, policy, deprecation_days, validate, ignore)
    report = compare(old, new, options, get_settings().registry, earlier=earlier or [])
    _finish(report, output_format.value, fail_on, output, color)


@app.command()
def check(
    files: Annotated[list[str], typer.Argument(help="Contract files in the working tree.")],
    base: Annotated[
        str, typer.Option(help="Git revision to compare against (a branch, tag or commit).")
    ] = "HEAD",
    kind: KindArg = KindOption.auto,
    mode: ModeArg = Mode.BACKWARD,
    policy: PolicyArg = PolicyOption.lenient,
    output_format: FormatArg = "text",  # type: ignore[assignment]
    fail_on: FailOnArg = FailOn.error,
    ignore: IgnoreArg = None,
    output: OutputArg = None,
    deprecation_days: DeprecationArg = 90,
    validate: ValidateArg = Validation.auto,
    color: ColorArg = None,
) -> None:
    """Compare each FILE with its version at --base; new files are only validated.

    This is the pre-commit hook and the one-line CI gate for a repository of contracts.

    \b
    Examples:
      stockplane contracts check api/openapi.yaml events/*.json --base origin/main
      stockplane contracts check api/openapi.yaml --format sarif --output contracts.sarif
    """
    options = _gate(kind, mode, policy, deprecation_days, validate, ignore)
    report = check_files(files, base, options, get_settings().registry)
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
