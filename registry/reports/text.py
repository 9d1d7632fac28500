"""Plain text for people at a terminal, coloured when it is one."""

from __future__ import annotations

import typer

from ..diff.engine import DiffReport
from ..diff.findings import Severity

_COLORS = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "blue"}


def render_text(report: DiffReport, fail_on: Severity | None, color: bool) -> str:
    def paint(text: str, colour: str | None, bold: bool = False) -> str:
        return typer.style(text, fg=colour, bold=bold) if color else text

    lines = []
    for finding in report.findings:
        tag = f"{finding.severity.value:<7}"
        where = str(finding.location)
        waived = f"  (waived: {finding.waiver})" if finding.waived else ""
        lines.append(
            f"{paint(tag, _COLORS[finding.severity], True)} {paint(finding.rule, None, True)}  {where}"
        )
        lines.append(f"        {finding.message}{waived}")
    counts = report.counts()
    summary = (
        f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info"
        + (f", {counts['waived']} waived" if counts["waived"] else "")
        + f" — {report.kind} {report.subject}"
        + (f" (pack {report.policy_pack})" if report.policy_pack else "")
    )
    verdict = "FAIL" if report.fails(fail_on) else "OK"
    lines.append(
        ("" if not report.findings else "\n")
        + paint(verdict, "red" if verdict == "FAIL" else "green", True)
        + f"  {summary}"
    )
    return "\n".join(lines) + "\n"
