"""A Markdown table fit for a pull-request comment or a GitHub step summary."""

from __future__ import annotations

from ..diff.engine import DiffReport
from ..diff.findings import Severity

_ICON = {Severity.ERROR: "🛑 error", Severity.WARNING: "⚠️ warning", Severity.INFO: "ℹ️ info"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: DiffReport, fail_on: Severity | None) -> str:
    counts = report.counts()
    verdict = "❌ breaking changes found" if report.fails(fail_on) else "✅ no blocking changes"
    lines = [
        f"### stockplane contract check: {verdict}",
        "",
        f"`{report.subject}` ({report.kind}, mode {report.mode.value}, policy {report.policy}"
        + (f", pack {report.policy_pack}" if report.policy_pack else "")
        + "): "
        f"**{counts['error']}** error(s), **{counts['warning']}** warning(s), {counts['info']} info"
        + (f", {counts['waived']} waived" if counts["waived"] else ""),
        "",
    ]
    if report.findings:
        lines += ["| Severity | Rule | Location | Change |", "| --- | --- | --- | --- |"]
        for f in report.findings:
            where = f"`{f.location.file}`" + (f" line {f.location.line}" if f.location.line else "")
            message = _cell(f.message) + (f" _(waived: {_cell(f.waiver or '')})_" if f.waived else "")
            lines.append(f"| {_ICON[f.severity]} | `{f.rule}` | {where} | {message} |")
    return "\n".join(lines) + "\n"
