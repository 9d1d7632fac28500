"""GitHub Actions workflow commands (``::error file=…,line=…::…``).

GitHub shows at most 50 annotations a job, so the CLI also writes the Markdown report to
``$GITHUB_STEP_SUMMARY`` when that variable is set.
"""

from __future__ import annotations

from ..diff.engine import DiffReport
from ..diff.findings import Severity

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
ANNOTATION_LIMIT = 50


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: DiffReport) -> str:
    lines = []
    for finding in [f for f in report.findings if not f.waived][:ANNOTATION_LIMIT]:
        props = [f"file={_property(finding.location.file or report.new)}"]
        if finding.location.line:
            props.append(f"line={finding.location.line}")
        props.append(f"title={_property(finding.rule)}")
        lines.append(f"::{_COMMAND[finding.severity]} {','.join(props)}::{_data(finding.message)}")
    hidden = len([f for f in report.findings if not f.waived]) - ANNOTATION_LIMIT
    if hidden > 0:
        lines.append(f"::notice::{hidden} more finding(s) not annotated; see the job summary")
    return "\n".join(lines) + ("\n" if lines else "")
