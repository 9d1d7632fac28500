"""Semantic-version rules of the registry: what bump a change needs, what comes next, and
which versions a consumer's range covers. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from stockplane.errors import InputError

from .diff.findings import Finding, Severity
from .diff.openapi.versions import ADDITION_RULES

__all__ = ["check_range", "covers", "next_version", "parse_semver", "required_bump"]


SemVer = tuple[int, int, int]


def parse_semver(text: str) -> SemVer:
    """``MAJOR.MINOR.PATCH`` (a leading ``v`` is allowed); anything else is bad input."""
    parts = text.strip().removeprefix("v").split(".")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        raise InputError(f"version {text!r} is not a semantic version MAJOR.MINOR.PATCH")
    major, minor, patch = (int(part) for part in parts)
    return major, minor, patch


def required_bump(findings: Iterable[Finding]) -> str:
    """``major`` for a breaking change, ``minor`` for an addition, ``patch`` otherwise."""
    findings = [f for f in findings if not f.waived]
    if any(f.severity is Severity.ERROR for f in findings):
        return "major"
    if any(f.rule in ADDITION_RULES for f in findings):
        return "minor"
    return "patch"


def next_version(previous: SemVer | None, bump: str) -> SemVer:
    if previous is None:
        return (1, 0, 0)
    major, minor, patch = previous
    if bump == "major":
        return (major + 1, 0, 0)
    if bump == "minor":
        return (major, minor + 1, 0)
    return (major, minor, patch + 1)


def satisfies(previous: SemVer, candidate: SemVer, bump: str) -> bool:
    """Whether ``candidate`` is a big enough step from ``previous`` for a ``bump`` change."""
    if candidate <= previous:
        return False
    if bump == "major":
        return candidate[0] > previous[0] or (previous[0] == 0 and candidate[1] > previous[1])
    if bump == "minor":
        return candidate[:2] > previous[:2]
    return True


def check_range(spec: str) -> str:
    """Validate a consumer's version range: an exact version, ``*`` or PEP 440 specifiers
    such as ``>=2.0,<3`` or ``==2.*``."""
    spec = spec.strip()
    if spec == "*":
        return spec
    try:
        Version(spec)
        return spec
    except InvalidVersion:
        pass
    try:
        SpecifierSet(spec)
    except InvalidSpecifier:
        raise InputError(
            f"version range {spec!r} is not an exact version, `*`, or specifiers like `>=2.0,<3`"
        ) from None
    return spec


def covers(spec: str, version: str) -> bool:
    """Whether a consumer's range includes ``version``."""
    spec = spec.strip()
    if spec == "*":
        return True
    try:
        return Version(spec) == Version(version)
    except InvalidVersion:
        return Version(version) in SpecifierSet(spec)
