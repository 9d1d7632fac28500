"""Semantic-version discipline for ``info.version``: breaking needs major, additions minor."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..catalogue import RULES
from ..compatibility import Side
from ..findings import Finding, Location, Severity

__all__ = ["ADDITION_RULES", "parse_version", "version_findings"]

_SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?)?)?(?:\+[0-9A-Za-z.-]+)?$"
)
# Rules that mean "something was added": they call for a new minor version.
ADDITION_RULES = frozenset(
    {
        "api-path-added",
        "endpoint-added",
        "new-optional-request-parameter",
        "new-optional-request-body",
        "request-body-media-type-added",
        "response-media-type-added",
    }
)


def parse_version(text: str) -> tuple[int, int, int, str] | None:
    """``(major, minor, patch, prerelease)``; ``1.2`` reads as ``1.2.0`` and ``v2`` as
    ``2.0.0``; None if not a semantic version."""
    match = _SEMVER.match(text.strip())
    if not match:
        return None
    major, minor, patch, pre = match.groups()
    return int(major), int(minor or 0), int(patch or 0), pre or ""


def _order(version: tuple[int, int, int, str]) -> tuple[int, int, int, int, str]:
    major, minor, patch, pre = version
    return major, minor, patch, 0 if pre else 1, pre  # a pre-release sorts before its release


def version_findings(old: Side, new: Side, findings: Sequence[Finding]) -> list[Finding]:
    old_text = _version(old)
    new_text = _version(new)
    if old_text is None or new_text is None:
        return []
    location = Location("/info/version", new.document.source, new.document.line_of("/info/version"))

    def finding(rule: str, message: str) -> Finding:
        return Finding(rule, RULES[rule].severity, message, location, old_text, new_text)

    old_version, new_version = parse_version(old_text), parse_version(new_text)
    if new_version is None:
        return [finding("api-version-not-semantic", f"info.version {new_text!r} is not a semantic version")]
    if old_version is None:
        return []
    if _order(new_version) < _order(old_version):
        return [finding("api-version-decreased", f"info.version went backwards: {old_text} → {new_text}")]
    breaking = any(f.severity is Severity.ERROR and not f.waived for f in findings)
    if (
        breaking
        and new_version[0] == old_version[0]
        and not (old_version[0] == 0 and new_version[1] > old_version[1])
    ):
        return [
            finding(
                "api-major-version-required",
                f"breaking changes need a new major version, but {old_text} → {new_text}",
            )
        ]
    if (
        not breaking
        and any(f.rule in ADDITION_RULES for f in findings)
        and new_version[:2] == old_version[:2]
    ):
        return [
            finding(
                "api-minor-version-required",
                f"additions need a new minor version, but {old_text} → {new_text}",
            )
        ]
    return []


def _version(side: Side) -> str | None:
    info = side.document.data.get("info") if isinstance(side.document.data, dict) else None
    value = info.get("version") if isinstance(info, dict) else None
    return str(value) if value is not None else None
