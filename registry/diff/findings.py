"""The one finding model every check, report and waiver speaks."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["Finding", "Location", "Severity"]


class Severity(StrEnum):
    """``error`` breaks a consumer; ``warning`` may; ``info`` is worth knowing."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding points: a JSON pointer, and the file and line when known."""

    pointer: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file or ""
        if self.line:
            where += f":{self.line}"
        return f"{where} {self.pointer or '/'}".strip()


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule that fired: stable id, severity, location, a message and the values involved."""

    rule: str
    severity: Severity
    message: str
    location: Location
    old: Any = None
    new: Any = None
    waiver: str | None = field(default=None, compare=False)

    @property
    def waived(self) -> bool:
        return self.waiver is not None
