"""Checks of the leaf keywords: types, numeric and string constraints, required names.

Each function compares one keyword family of a writer and a reader schema and returns
what the reader may reject; none of them recurses, so they need no engine.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .schema_vocab import Incompatibility, as_list, is_number

__all__ = ["bound_issues", "numeric_issues", "required_issues", "string_issues", "type_issues"]

_FORMAT_WIDENINGS = {
    ("int32", "int64"),
    ("float", "double"),
    ("int32", "double"),
    ("int64", "double"),
    ("int32", "float"),
}


def type_issues(
    w_types: frozenset[str] | None,
    r_types: frozenset[str],
    w: dict[str, Any],
    wp: str,
    r: dict[str, Any],
    rp: str,
) -> list[Incompatibility]:
    if w_types is None:
        return [
            Incompatibility(
                "type",
                "",
                f"the reader accepts only {_type_text(r_types)}, the writer any type",
                wp,
                f"{rp}/type",
                None,
                r.get("type"),
            )
        ]
    extra = set(w_types - r_types)
    if "integer" in extra and "number" in r_types:
        extra.discard("integer")
    if not extra:
        return []
    if extra == {"null"}:
        return [
            Incompatibility("nullable", "", "the reader does not accept null", wp, f"{rp}/type", True, False)
        ]
    return [
        Incompatibility(
            "type",
            "",
            f"type {_type_text(w_types)} became {_type_text(r_types)}",
            f"{wp}/type",
            f"{rp}/type",
            w.get("type"),
            r.get("type"),
        )
    ]


def _type_text(types: Iterable[str]) -> str:
    return " or ".join(sorted(types))


def _lower(schema: dict[str, Any]) -> tuple[float, bool] | None:
    """The lower bound as (value, exclusive), reading draft-4 boolean exclusives too."""
    bound = None
    minimum = schema.get("minimum")
    exclusive = schema.get("exclusiveMinimum")
    if is_number(minimum):
        bound = (minimum, exclusive is True)
    if is_number(exclusive) and (bound is None or exclusive >= bound[0]):
        bound = (exclusive, True)
    return bound


def _upper(schema: dict[str, Any]) -> tuple[float, bool] | None:
    bound = None
    maximum = schema.get("maximum")
    exclusive = schema.get("exclusiveMaximum")
    if is_number(maximum):
        bound = (maximum, exclusive is True)
    if is_number(exclusive) and (bound is None or exclusive <= bound[0]):
        bound = (exclusive, True)
    return bound


def numeric_issues(w: dict[str, Any], wp: str, r: dict[str, Any], rp: str) -> list[Incompatibility]:
    issues: list[Incompatibility] = []
    r_low, w_low = _lower(r), _lower(w)
    if r_low is not None and (
        w_low is None or w_low[0] < r_low[0] or (w_low[0] == r_low[0] and r_low[1] and not w_low[1])
    ):
        issues.append(
            Incompatibility(
                "minimum",
                "",
                f"minimum {_bound_text(w_low)} became {_bound_text(r_low)}",
                f"{wp}/minimum",
                f"{rp}/minimum",
                _bound_value(w_low),
                _bound_value(r_low),
            )
        )
    r_high, w_high = _upper(r), _upper(w)
    if r_high is not None and (
        w_high is None or w_high[0] > r_high[0] or (w_high[0] == r_high[0] and r_high[1] and not w_high[1])
    ):
        issues.append(
            Incompatibility(
                "maximum",
                "",
                f"maximum {_bound_text(w_high)} became {_bound_text(r_high)}",
                f"{wp}/maximum",
                f"{rp}/maximum",
                _bound_value(w_high),
                _bound_value(r_high),
            )
        )
    r_step, w_step = r.get("multipleOf"), w.get("multipleOf")
    if (
        is_number(r_step)
        and r_step > 0
        and not (is_number(w_step) and w_step > 0 and _is_multiple(w_step, r_step))
    ):
        issues.append(
            Incompatibility(
                "multiple-of",
                "",
                f"multipleOf {w_step if w_step is not None else 'none'} became {r_step}",
                f"{wp}/multipleOf",
                f"{rp}/multipleOf",
                w_step,
                r_step,
            )
        )
    return issues


def _is_multiple(value: float, step: float) -> bool:
    quotient = value / step
    return math.isclose(quotient, round(quotient), rel_tol=1e-9, abs_tol=1e-9)


def _bound_text(bound: tuple[float, bool] | None) -> str:
    if bound is None:
        return "none"
    return f"{bound[0]} (exclusive)" if bound[1] else str(bound[0])


def _bound_value(bound: tuple[float, bool] | None) -> Any:
    return None if bound is None else bound[0]


def bound_issues(
    w: dict[str, Any],
    wp: str,
    r: dict[str, Any],
    rp: str,
    low_key: str,
    high_key: str,
    low_kind: str,
    high_kind: str,
) -> list[Incompatibility]:
    issues: list[Incompatibility] = []
    r_low, w_low = r.get(low_key), w.get(low_key)
    if is_number(r_low) and r_low > 0 and not (is_number(w_low) and w_low >= r_low):
        issues.append(
            Incompatibility(
                low_kind,
                "",
                f"{low_key} {w_low if w_low is not None else 'none'} became {r_low}",
                f"{wp}/{low_key}",
                f"{rp}/{low_key}",
                w_low,
                r_low,
            )
        )
    r_high, w_high = r.get(high_key), w.get(high_key)
    if is_number(r_high) and not (is_number(w_high) and w_high <= r_high):
        issues.append(
            Incompatibility(
                high_kind,
                "",
                f"{high_key} {w_high if w_high is not None else 'none'} became {r_high}",
                f"{wp}/{high_key}",
                f"{rp}/{high_key}",
                w_high,
                r_high,
            )
        )
    return issues


_MATCH_ANYTHING = frozenset({".*", "^.*$", "^.*", ".*$", "^(.*)$", "(.*)", "[\\s\\S]*", "^[\\s\\S]*$"})
"""Patterns that match every string (``.`` does not match a newline, but by convention
``.*`` is written to mean "anything")."""


def string_issues(w: dict[str, Any], wp: str, r: dict[str, Any], rp: str) -> list[Incompatibility]:
    issues = bound_issues(w, wp, r, rp, "minLength", "maxLength", "min-length", "max-length")
    if "pattern" in r and r["pattern"] != w.get("pattern") and r["pattern"] not in _MATCH_ANYTHING:
        kind = "pattern-set" if "pattern" not in w else "pattern"
        issues.append(
            Incompatibility(
                kind,
                "",
                f"pattern {w.get('pattern')!r} became {r['pattern']!r}",
                f"{wp}/pattern",
                f"{rp}/pattern",
                w.get("pattern"),
                r["pattern"],
            )
        )
    r_format, w_format = r.get("format"), w.get("format")
    if r_format is not None and r_format != w_format and (w_format, r_format) not in _FORMAT_WIDENINGS:
        kind = "format-set" if w_format is None else "format"
        issues.append(
            Incompatibility(
                kind,
                "",
                f"format {w_format or 'none'} became {r_format}",
                f"{wp}/format",
                f"{rp}/format",
                w_format,
                r_format,
            )
        )
    for keyword, kind in (
        ("contentEncoding", "content-encoding"),
        ("contentMediaType", "content-media-type"),
    ):
        if keyword in r and r[keyword] != w.get(keyword):
            issues.append(
                Incompatibility(
                    kind,
                    "",
                    f"{keyword} {w.get(keyword) or 'none'} became {r[keyword]}",
                    f"{wp}/{keyword}",
                    f"{rp}/{keyword}",
                    w.get(keyword),
                    r[keyword],
                )
            )
    return issues


def required_issues(
    w: dict[str, Any], wp: str, r: dict[str, Any], rp: str, w_props: dict[str, Any]
) -> list[Incompatibility]:
    w_required = set(as_list(w.get("required")))
    issues = []
    for name in as_list(r.get("required")):
        if name not in w_required:
            kind = "became-required" if name in w_props else "required-added"
            issues.append(
                Incompatibility(
                    kind,
                    f".{name}",
                    f"property `{name}` is required by the reader, optional for the writer",
                    f"{wp}/properties/{name}",
                    f"{rp}/required",
                )
            )
    return issues
