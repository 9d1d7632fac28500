"""The CI gate behind ``contracts diff`` and ``contracts check``: open, validate, compare,
waive and publish. Kept apart from the CLI so the API can reuse it."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

from rich.console import Console

from policies import PolicyPack
from stockplane.documents import Document
from stockplane.errors import DocumentError, UsageError
from stockplane.settings import RegistrySettings

from .diff.compatibility import Mode
from .diff.engine import DiffOptions, DiffReport, diff_contracts, rules_for
from .diff.findings import Severity
from .diff.schema_vocab import Policy
from .kinds import detect_kind
from .lint import lint_document
from .reports import render
from .reports.markdown import render_markdown
from .rulebook import lint_rules_for
from .sources import open_side
from .structure import structural_problems
from .validation import validate_document
from .waivers import apply_waivers, load_waivers

__all__ = ["GateOptions", "check_files", "compare", "lint_file", "publish"]


@dataclass(frozen=True)
class GateOptions:
    """How to check. Unset mode, policy and notice come from the policy pack when there is
    one (``pack``), else from the engine's defaults (BACKWARD, lenient, 90 days)."""

    kind: str = "auto"
    mode: Mode | None = None
    policy: Policy | None = None
    deprecation_days: int | None = None
    validation: str = "auto"  # auto | full | basic
    waivers: Path | None = None
    pack: PolicyPack | None = None
    today: dt.date | None = None

    def diff_options(self, kind: str, budget: int) -> DiffOptions:
        defaults = (
            self.pack.compatibility.get("events" if kind == "jsonschema" else "apis") if self.pack else None
        )
        notice = dict(self.pack.deprecation.minimum_notice_days) if self.pack else {}
        days = self.deprecation_days if self.deprecation_days is not None else notice.get("stable", 90)
        return DiffOptions(
            kind=self.kind,
            mode=self.mode or (Mode(defaults.mode) if defaults else Mode.BACKWARD),
            policy=self.policy or (defaults.policy if defaults else "lenient"),  # type: ignore[arg-type]
            deprecation_days=days,
            notice_by_stability=MappingProxyType({**notice, "stable": days}),
            today=self.today or dt.date.today(),
            budget=budget,
        )


def compare(
    old: str, new: str, options: GateOptions, settings: RegistrySettings, *, earlier: Sequence[str] = ()
) -> DiffReport:
    """Diff two documents named on the command line, after checking both are valid."""
    with _status(f"Reading {old} and {new}"):
        sides = [open_side(spec, settings) for spec in (old, *earlier, new)]
    with _status("Validating"):
        kinds = [_require_valid(side.document, options, settings) for side in sides]
    diff_options = options.diff_options(kinds[-1], settings.comparison_budget)
    if earlier and not diff_options.mode.transitive:
        raise UsageError(f"--earlier is only used by the *_TRANSITIVE modes, not {diff_options.mode.value}")
    with _status("Comparing"):
        report = diff_contracts(sides[0], sides[-1], diff_options, earlier=sides[1:-1])
    report.policy_pack = options.pack.label if options.pack else None
    return _waive(report, options)


def lint_file(spec: str, options: GateOptions, settings: RegistrySettings) -> DiffReport:
    """Validate one document and apply the pack's lint rules to it."""
    assert options.pack is not None
    side = open_side(spec, settings)
    kind = _require_valid(side.document, options, settings)
    report = DiffReport("", side.document.source, kind, Mode.NONE, "lenient")
    report.findings = lint_document(side, kind, options.pack)
    report.policy_pack = options.pack.label
    report.rules = lint_rules_for(kind)
    return _waive(report, options)


def check_files(
    files: Sequence[str],
    options: GateOptions,
    settings: RegistrySettings,
    *,
    base: str | None = None,
    against: str | None = None,
) -> DiffReport:
    """Validate and lint each file, and diff it against ``against`` or its ``base`` revision.

    One report, one exit code: the command a CI job runs.
    """
    if not files:
        raise UsageError("name at least one contract file to check")
    if against is not None and len(files) != 1:
        raise UsageError("--against compares one file; use --base REV to check several against git")
    plain = replace(options, waivers=None)
    reports: list[DiffReport] = []
    for name in files:
        reports.append(lint_file(name, plain, settings))
        old = against or (f"{base}:{_git_path(name)}" if base and _exists_in_git(base, name) else None)
        if old is not None:
            reports.append(compare(old, name, plain, settings))
    kinds = {report.kind for report in reports}
    kind = kinds.pop() if len(kinds) == 1 else "mixed"
    merged = DiffReport(against or base or "", ", ".join(files), kind, reports[-1].mode, reports[-1].policy)
    merged.findings = [finding for report in reports for finding in report.findings]
    merged.policy_pack = options.pack.label if options.pack else None
    diffed = any(report.old for report in reports)
    merged.rules = lint_rules_for(kind) + (rules_for(kind) if diffed else [])
    return _waive(merged, options)


def _waive(report: DiffReport, options: GateOptions) -> DiffReport:
    if options.waivers is not None:
        today = options.today or dt.date.today()
        waivers = load_waivers(options.waivers)
        report.findings = apply_waivers(report.findings, waivers, source=str(options.waivers), today=today)
    return report


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


def _require_valid(document: Document, options: GateOptions, settings: RegistrySettings) -> str:
    """A diff of an invalid document would be guesswork: refuse it as bad input."""
    found = detect_kind(document.data, document.source, options.kind)
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
    return found


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
