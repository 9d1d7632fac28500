"""JUnit XML: one test case per rule checked, a failure for each finding that fails the gate."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from ..diff.engine import DiffReport
from ..diff.findings import Finding, Severity


def render_junit(report: DiffReport, fail_on: Severity | None) -> str:
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_rule[finding.rule].append(finding)
    rules = report.rules_checked
    failing = {
        rule.id
        for rule in rules
        if any(
            not f.waived and fail_on is not None and f.severity.rank >= fail_on.rank for f in by_rule[rule.id]
        )
    }
    suite = ET.Element(
        "testsuite",
        name=f"stockplane contracts diff {report.new}",
        tests=str(len(rules)),
        failures=str(len(failing)),
        errors="0",
        skipped="0",
    )
    if report.policy_pack:
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="policy_pack", value=report.policy_pack)
    for rule in rules:
        case = ET.SubElement(suite, "testcase", classname=f"stockplane.{report.kind}", name=rule.id)
        findings = by_rule.get(rule.id, [])
        if rule.id in failing:
            gate = [f for f in findings if not f.waived and f.severity.rank >= fail_on.rank]  # type: ignore[union-attr]
            failure = ET.SubElement(case, "failure", message=gate[0].message, type=gate[0].severity.value)
            failure.text = "\n".join(f"{f.location}: {f.message}" for f in gate)
        elif findings:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(
                f"{f.severity.value}: {f.location}: {f.message}"
                + (f" (waived: {f.waiver})" if f.waived else "")
                for f in findings
            )
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
