"""The versioned JSON report (``format: stockplane.diff``, ``version: 1``); see docs/cli.md."""

from __future__ import annotations

from typing import Any

import orjson

from ..diff.engine import DiffReport
from ..diff.findings import Severity

FORMAT_VERSION = 1


def report_dict(report: DiffReport, fail_on: Severity | None) -> dict[str, Any]:
    return {
        "format": "stockplane.diff",
        "version": FORMAT_VERSION,
        "old": report.old,
        "new": report.new,
        "kind": report.kind,
        "mode": report.mode.value,
        "policy": report.policy,
        "policy_pack": report.policy_pack,
        "failed": report.fails(fail_on),
        "summary": report.counts(),
        "findings": [
            {
                "rule": f.rule,
                "severity": f.severity.value,
                "message": f.message,
                "location": {"file": f.location.file, "line": f.location.line, "pointer": f.location.pointer},
                "old": f.old,
                "new": f.new,
                "waived": f.waived,
                "waiver_reason": f.waiver,
            }
            for f in report.findings
        ],
    }


def render_json(report: DiffReport, fail_on: Severity | None) -> str:
    return orjson.dumps(report_dict(report, fail_on), option=orjson.OPT_INDENT_2, default=str).decode() + "\n"
