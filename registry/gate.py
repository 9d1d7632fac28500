"""The CI gate behind ``contracts diff`` and ``contracts check``: open, validate, compare,
waive and publish. Kept apart from the CLI so the API can reuse it."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from rich.console import Console

from stockplane.documents import Document
from stockplane.errors import DocumentError, UsageError
from stockplane.settings import RegistrySettings

from .diff.engine import DiffOptions, DiffReport, diff_contracts
from .diff.findings import Severity
from .kinds import detect_kind
from .reports import render
from .reports.markdown import render_markdown
from .sources import open_side
from .structure import structural_problems
from .validation import validate_document
from .waivers import apply_waivers, load_waivers

__all__ = ["GateOptions", "check_files", "compare", "publish"]


@dataclass(frozen=True)
class GateOptions:
    """What to compare and how (``diff``), plus the gate's own steps around it."""

    diff: DiffOptions = field(default_factory=DiffOptions)
    validation: str = "auto"  # auto | full | basic
    waivers: Path | None = None


def compare(
    old: str, new: str, options: GateOptions, settings: RegistrySettings, *, earlier: Sequence[str] = ()
) -> DiffReport:
    """Diff two documents named on the command line, after checking both are valid."""
    if earlier and not options.diff.mode.transitive:
        raise UsageError(f"--earlier is only used by the *_TRANSITIVE modes, not {options.diff.mode.value}")
    today = options.diff.today or dt.date.today()
    with _status(f"Reading {old} and {new}"):
        sides = [open_side(spec, settings) for spec in (old, *earlier, new)]
    with _status("Validating"):
        for side in sides:
            _require_valid(side.document, options, settings)
    diff_options = replace(options.diff, today=today, budget=settings.comparison_budget)
    with _status("Comparing"):
        report = diff_contracts(sides[0], sides[-1], diff_options, earlier=sides[1:-1])
    if options.waivers is not None:
        waivers = load_waivers(options.waivers)
        report.findings = apply_waivers(report.findings, waivers, source=str(options.waivers), today=today)
    return report


def check_files(
    files: Sequence[str], base: str, options: GateOptions, settings: RegistrySettings
) -> DiffReport:
    """Compare each file with its version at ``base``; files new since then are only validated."""
    if not files:
        raise UsageError("name at least one contract file to check")
    reports: list[DiffReport] = []
    for name in files:
        if _exists_in_git(base, name):
            reports.append(compare(f"{base}:{_git_path(name)}", name, options, settings))
        else:
            document = open_side(name, settings).document
            _require_valid(document, options, settings)
    merged = DiffReport(base, ", ".join(files), "openapi", options.diff.mode, options.diff.policy)
    kinds = {report.kind for report in reports}
    merged.kind = kinds.pop() if len(kinds) == 1 else "mixed"  # type: ignore[assignment]
    merged.findings = [finding for report in reports for finding in report.findings]
    return merged


def publish(
    report: DiffReport, fmt: str, *, fail_on: Severity | None, output: Path | None, color: bool
) -> None:
    """Write the report where asked; for GitHub also append a Markdown job summary."""
    text = render(report, fmt, fail_on=fail_on, color=color)
    if output is None:
        print(text, end="")
    else:
        temporary = output.with_name(f".{output.name}.tmp")
        try:
            temporary.write_text(text, encoding="utf-8")
            temporary.replace(output)
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if fmt == "github" and summary_file:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(render_markdown(report, fail_on))


@contextmanager
def _status(message: str) -> Iterator[None]:
    """A spinner on stderr while large documents load and compare; only on a terminal."""
    if not sys.stderr.isatty():
        yield
        return
    with Console(stderr=True).status(message):
        yield


def _require_valid(document: Document, options: GateOptions, settings: RegistrySettings) -> None:
    """A diff of an invalid document would be guesswork: refuse it as bad input."""
    found = detect_kind(document.data, document.source, options.diff.kind)
    full = options.validation == "full" or (
        options.validation == "auto" and document.size <= settings.full_validation_max_bytes
    )
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


def _git_path(name: str) -> str:
    """A working-tree path as git names it at a revision (relative to the repository root)."""
    completed = subprocess.run(
        ["git", "ls-files", "--full-name", "--error-unmatch", name],
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.stdout.strip() or Path(name).as_posix()


def _exists_in_git(base: str, name: str) -> bool:
    completed = subprocess.run(
        ["git", "cat-file", "-e", f"{base}:{_git_path(name)}"], capture_output=True, check=False
    )
    return completed.returncode == 0
