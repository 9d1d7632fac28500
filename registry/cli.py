"""``stockplane contracts``: validate and diff contracts offline, as a CI gate.

Exit codes: 0 nothing at or above ``--fail-on``; 1 the check found problems; 2 bad usage
or input that cannot be read (one line on stderr).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import orjson
import typer

from stockplane.errors import DocumentError, UsageError
from stockplane.settings import get_settings

from .diff.catalogue import RULES
from .diff.compatibility import Mode
from .diff.engine import DiffOptions, diff_contracts
from .diff.findings import Severity
from .kinds import detect_kind
from .loading import Document
from .reports import FORMATS, render
from .reports.markdown import render_markdown
from .rules_doc import render_rules_markdown
from .sources import open_side
from .structure import structural_problems
from .validation import validate_document
from .waivers import apply_waivers, load_waivers

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


@app.command()
def diff(
    old: Annotated[
        str,
        typer.Argument(help="The old version: a file, or GITREV:path (e.g. origin/main:api/openapi.yaml)."),
    ],
    new: Annotated[str, typer.Argument(help="The new version: a file, or GITREV:path.")],
    kind: Annotated[
        KindOption, typer.Option(help="Document kind; auto detects `openapi:` or a JSON Schema.")
    ] = KindOption.auto,
    mode: Annotated[
        Mode,
        typer.Option(
            case_sensitive=False,
            help="Compatibility mode for event schemas (OpenAPI always protects existing clients: requests BACKWARD, responses FORWARD).",
        ),
    ] = Mode.BACKWARD,
    policy: Annotated[
        PolicyOption,
        typer.Option(
            help="strict: open content models are taken literally; lenient: adding an optional property is compatible."
        ),
    ] = PolicyOption.lenient,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = "text",  # type: ignore[assignment,valid-type]
    fail_on: Annotated[
        FailOn, typer.Option(help="Exit 1 when a finding at or above this severity remains.")
    ] = FailOn.error,
    ignore: Annotated[
        Path | None, typer.Option(help="YAML file of waivers: {rule, location, reason, expires}.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Write the report to this file instead of standard output.")
    ] = None,
    deprecation_days: Annotated[
        int, typer.Option(min=0, help="Minimum notice between deprecation and x-sunset, in days.")
    ] = 90,
    earlier: Annotated[
        list[str] | None,
        typer.Option(help="Earlier versions, oldest first, for the *_TRANSITIVE modes (repeatable)."),
    ] = None,
    validate: Annotated[
        Validation,
        typer.Option(
            "--validate",
            help="Check both documents first: full (against the specification), basic (the structure the diff relies on, fast) or auto (full up to STOCKPLANE_REGISTRY__FULL_VALIDATION_MAX_BYTES, 1 MiB by default).",
        ),
    ] = Validation.auto,
    color: Annotated[
        bool | None,
        typer.Option(
            "--color/--no-color", help="Colour the text output (default: when writing to a terminal)."
        ),
    ] = None,
) -> None:
    """Report the breaking changes from OLD to NEW.

    \b
    Examples:
      stockplane contracts diff old.yaml new.yaml
      stockplane contracts diff origin/main:api/openapi.yaml api/openapi.yaml --format github
      stockplane contracts diff v1.json v2.json --mode FULL_TRANSITIVE --earlier v0.json
    """
    settings = get_settings().registry
    if earlier and not mode.transitive:
        raise UsageError(f"--earlier is only used by the *_TRANSITIVE modes, not {mode.value}")
    today = dt.date.today()
    old_side = open_side(old, settings)
    new_side = open_side(new, settings)
    earlier_sides = [open_side(spec, settings) for spec in earlier or []]
    options = DiffOptions(
        kind=kind.value,
        mode=mode,
        policy=policy.value,
        deprecation_days=deprecation_days,
        today=today,
        budget=settings.comparison_budget,
    )
    for side in (old_side, *earlier_sides, new_side):
        full = validate is Validation.full or (
            validate is Validation.auto and side.document.size <= settings.full_validation_max_bytes
        )
        _require_valid(side.document, kind.value, full=full)
    report = diff_contracts(old_side, new_side, options, earlier=earlier_sides)
    if ignore is not None:
        report.findings = apply_waivers(
            report.findings, load_waivers(ignore), source=str(ignore), today=today
        )
    threshold = None if fail_on is FailOn.never else Severity(fail_on.value)
    use_color = color if color is not None else (output is None and sys.stdout.isatty())
    text = render(report, output_format.value, fail_on=threshold, color=use_color)
    _emit(text, output)
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if output_format.value == "github" and summary_file:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(render_markdown(report, threshold))
    raise typer.Exit(1 if report.fails(threshold) else 0)


@app.command()
def validate(
    file: Annotated[str, typer.Argument(help="The document: a file, or GITREV:path.")],
    kind: Annotated[KindOption, typer.Option(help="Document kind; auto detects it.")] = KindOption.auto,
    output_format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Check a document: OpenAPI 3.0/3.1 against its specification, a JSON Schema against its metaschema.

    Exit 0 valid, 1 invalid (every problem listed), 2 unreadable input.
    """
    if output_format not in ("text", "json"):
        raise UsageError(f"--format must be text or json, not {output_format!r}")
    side = open_side(file, get_settings().registry)
    document = side.document
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
        typer.echo(
            orjson.dumps(
                [
                    {
                        "id": r.id,
                        "severity": r.severity.value,
                        "group": r.group,
                        "summary": r.summary,
                        "example": r.example,
                    }
                    for r in RULES.values()
                ],
                option=orjson.OPT_INDENT_2,
            ).decode()
        )
    elif output_format == "text":
        for rule in RULES.values():
            typer.echo(f"{rule.severity.value:<8} {rule.id:<55} {rule.summary}")
    else:
        raise UsageError(f"--format must be text, markdown or json, not {output_format!r}")


def _require_valid(document: Document, requested_kind: str, *, full: bool) -> None:
    """A diff of an invalid document would be guesswork: refuse it as bad input."""
    found = detect_kind(document.data, document.source, requested_kind)
    problems = validate_document(document, found) if full else structural_problems(document, found)
    if problems:
        first = problems[0]
        more = (
            f" (and {len(problems) - 1} more; see `stockplane contracts validate`)"
            if len(problems) > 1
            else ""
        )
        raise DocumentError(
            document.source,
            f"is not a valid {found} document: {first.pointer or '/'}: {first.message}{more}",
            line=first.line,
        )


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    temporary = output.with_name(f".{output.name}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(output)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
