"""SARIF 2.1.0, for code-scanning dashboards: rules, results and line locations."""

from __future__ import annotations

from typing import Any

import orjson

from stockplane import __version__

from ..diff.engine import DiffReport
from ..diff.findings import Severity
from ..rulebook import ALL_RULES as RULES

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_HELP = "https://stockplane.dev/docs/rules#"


def render_sarif(report: DiffReport) -> str:
    fired = list(dict.fromkeys(f.rule for f in report.findings))
    rules = [
        {
            "id": rule_id,
            "shortDescription": {"text": RULES[rule_id].summary},
            "fullDescription": {"text": f"{RULES[rule_id].summary}. Example: {RULES[rule_id].example}"},
            "defaultConfiguration": {"level": _LEVEL[RULES[rule_id].severity]},
            "helpUri": _HELP + rule_id,
        }
        for rule_id in fired
    ]
    results: list[dict[str, Any]] = []
    for finding in report.findings:
        physical: dict[str, Any] = {"artifactLocation": {"uri": finding.location.file or report.new}}
        if finding.location.line:
            physical["region"] = {"startLine": finding.location.line}
        result: dict[str, Any] = {
            "ruleId": finding.rule,
            "ruleIndex": fired.index(finding.rule),
            "level": _LEVEL[finding.severity],
            "message": {"text": finding.message},
            "locations": [
                {
                    "physicalLocation": physical,
                    "logicalLocations": [
                        {"fullyQualifiedName": finding.location.pointer or "/", "kind": "element"}
                    ],
                }
            ],
        }
        if finding.waived:
            result["suppressions"] = [{"kind": "external", "justification": finding.waiver}]
        results.append(result)
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "stockplane",
                        "version": __version__,
                        "informationUri": "https://stockplane.dev",
                        "rules": rules,
                    }
                },
                "results": results,
                "properties": {"policyPack": report.policy_pack, "kind": report.kind},
            }
        ],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2, default=str).decode() + "\n"
