"""Waivers: accepted findings listed in a YAML file, each with a reason and an expiry date.

```yaml
waivers:
  - rule: response-property-became-optional
    location: /paths/~1orders/get/responses/200/*   # JSON pointer; * and ? are wildcards
    reason: the mobile app never read this field (ticket INV-231)
    expires: 2026-12-31
```

A waived finding is still reported, marked as waived, and does not fail the check. A
waiver past its expiry waives nothing and becomes a ``waiver-expired`` error itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

from stockplane.errors import DocumentError

from .diff.findings import Finding, Location
from .rulebook import ALL_RULES as RULES

__all__ = ["Waiver", "apply_waivers", "load_waivers"]


@dataclass(frozen=True)
class Waiver:
    rule: str
    location: str | None
    reason: str
    expires: dt.date | None
    line: int | None = None

    def matches(self, finding: Finding) -> bool:
        if finding.rule != self.rule:
            return False
        return self.location is None or fnmatchcase(finding.location.pointer, self.location)


def load_waivers(path: Path) -> list[Waiver]:
    """Read and check a waiver file; any malformed entry is an input error naming its line."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(source, f"cannot read the waiver file ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DocumentError(source, f"invalid YAML: {exc}") from None
    entries = data.get("waivers") if isinstance(data, dict) else data
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise DocumentError(source, "must be a list of waivers (or a mapping with a `waivers` list)")
    return [_waiver(entry, index, source) for index, entry in enumerate(entries)]


def _waiver(entry: Any, index: int, source: str) -> Waiver:
    where = f"waiver {index + 1}"
    if not isinstance(entry, dict):
        raise DocumentError(source, f"{where} must be a mapping with rule, reason and expires")
    rule = entry.get("rule")
    if rule not in RULES:
        raise DocumentError(source, f"{where}: unknown rule {rule!r} (see `stockplane contracts rules`)")
    reason = entry.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise DocumentError(source, f"{where}: a reason is required")
    expires = entry.get("expires")
    if isinstance(expires, str):
        try:
            expires = dt.date.fromisoformat(expires)
        except ValueError:
            raise DocumentError(source, f"{where}: expires {expires!r} is not a date (YYYY-MM-DD)") from None
    elif expires is not None and not isinstance(expires, dt.date):
        raise DocumentError(source, f"{where}: expires must be a date (YYYY-MM-DD)")
    location = entry.get("location")
    if location is not None and not isinstance(location, str):
        raise DocumentError(source, f"{where}: location must be a JSON pointer")
    return Waiver(rule, location, reason.strip(), expires)


def apply_waivers(
    findings: list[Finding], waivers: list[Waiver], *, source: str, today: dt.date
) -> list[Finding]:
    """Mark waived findings; add a ``waiver-expired`` finding for each expired waiver."""
    live = [w for w in waivers if w.expires is None or w.expires >= today]
    result = []
    for finding in findings:
        waiver = next((w for w in live if w.matches(finding)), None)
        result.append(replace(finding, waiver=waiver.reason) if waiver else finding)
    for waiver in waivers:
        if waiver not in live:
            result.append(
                Finding(
                    "waiver-expired",
                    RULES["waiver-expired"].severity,
                    f"waiver for {waiver.rule} expired on {waiver.expires}: {waiver.reason}",
                    Location(waiver.location or "", source),
                    None,
                    str(waiver.expires),
                )
            )
    return result
