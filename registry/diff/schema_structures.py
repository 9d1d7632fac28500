"""Array and object checks: the keyword families that recurse into subschemas."""

from __future__ import annotations

from typing import Any

from ..refs import RefResolver
from .schema_keywords import bound_issues, required_issues
from .schema_vocab import (
    Incompatibility,
    Policy,
    as_list,
    as_mapping,
    is_max_reached,
    schema_for,
    short_values,
    tuple_view,
)

__all__ = ["StructureChecks"]


class StructureChecks:
    """Mixed into the engine: compares ``items``/``prefixItems`` and ``properties`` & co.

    Relies on the engine's ``_sub`` (compare two subschemas), ``_child`` (the same, with
    the instance path extended) and ``policy``.
    """

    policy: Policy
    absent_flag: str | None
    writer: RefResolver
    reader: RefResolver

    def _sub(self, w: Any, wp: str, r: Any, rp: str) -> list[Incompatibility]:
        raise NotImplementedError  # provided by the engine

    def _child(self, token: str, w: Any, wp: str, r: Any, rp: str) -> list[Incompatibility]:
        raise NotImplementedError  # provided by the engine

    def _array_issues(self, w: dict[str, Any], wp: str, r: dict[str, Any], rp: str) -> list[Incompatibility]:
        issues = bound_issues(w, wp, r, rp, "minItems", "maxItems", "min-items", "max-items")
        w_prefix, w_rest, w_rest_key = tuple_view(w)
        r_prefix, r_rest, r_rest_key = tuple_view(r)
        w_prefix_key = "prefixItems" if "prefixItems" in w else "items"
        r_prefix_key = "prefixItems" if "prefixItems" in r else "items"
        for index in range(max(len(w_prefix), len(r_prefix))):
            if index < len(w_prefix):
                ws, wsp = w_prefix[index], f"{wp}/{w_prefix_key}/{index}"
            else:
                ws, wsp = w_rest, f"{wp}/{w_rest_key}"
            if index < len(r_prefix):
                rs, rsp = r_prefix[index], f"{rp}/{r_prefix_key}/{index}"
            else:
                rs, rsp = r_rest, f"{rp}/{r_rest_key}"
            if ws is False or is_max_reached(w, index):
                continue
            if rs is False:
                issues.append(
                    Incompatibility(
                        "tuple-item",
                        f"[{index}]",
                        f"the reader accepts no item at position {index}",
                        wsp,
                        rsp,
                    )
                )
                continue
            issues += self._child(f"[{index}]", ws, wsp, rs, rsp)
        if w_rest is not False and not is_max_reached(w, max(len(w_prefix), len(r_prefix))):
            if r_rest is False and len(r_prefix) >= len(w_prefix):
                issues.append(
                    Incompatibility(
                        "tuple-item",
                        "[]",
                        f"the reader accepts no items past position {len(r_prefix) - 1}",
                        f"{wp}/{w_rest_key}",
                        f"{rp}/{r_rest_key}",
                    )
                )
            elif r_rest is not True:
                issues += self._child("[]", w_rest, f"{wp}/{w_rest_key}", r_rest, f"{rp}/{r_rest_key}")
        if r.get("uniqueItems") is True and w.get("uniqueItems") is not True:
            issues.append(
                Incompatibility(
                    "unique-items",
                    "",
                    "the reader requires unique items",
                    wp,
                    f"{rp}/uniqueItems",
                    w.get("uniqueItems"),
                    True,
                )
            )
        if "contains" in r:
            if "contains" not in w:
                issues.append(
                    Incompatibility(
                        "contains",
                        "",
                        "the reader requires an item matching `contains`",
                        wp,
                        f"{rp}/contains",
                    )
                )
            else:
                issues += self._child("[]", w["contains"], f"{wp}/contains", r["contains"], f"{rp}/contains")
        issues += bound_issues(w, wp, r, rp, "minContains", "maxContains", "min-contains", "max-contains")
        return issues

    def _object_issues(self, w: dict[str, Any], wp: str, r: dict[str, Any], rp: str) -> list[Incompatibility]:
        issues = bound_issues(
            w, wp, r, rp, "minProperties", "maxProperties", "min-properties", "max-properties"
        )
        w_props = as_mapping(w.get("properties"))
        r_props = as_mapping(r.get("properties"))
        w_patterns = as_mapping(w.get("patternProperties"))
        r_patterns = as_mapping(r.get("patternProperties"))
        open_default = self.policy == "strict"
        w_extra = _extra(w, open_default if "patternProperties" not in w or open_default else False)
        r_extra = _extra(r, True)
        absent = self._absent_properties(w_props, r_props)
        for name in {**w_props, **r_props}:
            ws, wsp = schema_for(name, w_props, w_patterns, w_extra, wp)
            rs, rsp = schema_for(name, r_props, r_patterns, r_extra, rp)
            if ws is False or name in absent:
                continue
            token = f".{name}"
            if rs is False:
                if name in w_props:
                    issues.append(
                        Incompatibility(
                            "property-not-accepted",
                            token,
                            f"property `{name}` is not accepted by the reader",
                            wsp,
                            rsp,
                        )
                    )
                else:
                    issues.append(
                        Incompatibility("false", token, f"the reader forbids property `{name}`", wsp, rsp)
                    )
                continue
            issues += self._child(token, ws, wsp, rs, rsp)
        for pattern, rs in r_patterns.items():
            if pattern in w_patterns:
                issues += self._child(
                    f".~{pattern}",
                    w_patterns[pattern],
                    f"{wp}/patternProperties/{pattern}",
                    rs,
                    f"{rp}/patternProperties/{pattern}",
                )
            elif w_extra is not False:
                issues += self._child(
                    f".~{pattern}",
                    w_extra,
                    f"{wp}/additionalProperties",
                    rs,
                    f"{rp}/patternProperties/{pattern}",
                )
        for pattern, ws in w_patterns.items():
            if pattern not in r_patterns:
                issues += self._child(
                    f".~{pattern}",
                    ws,
                    f"{wp}/patternProperties/{pattern}",
                    r_extra,
                    f"{rp}/additionalProperties",
                )
        if w_extra is not False and r_extra is not True:
            if r_extra is False:
                issues.append(
                    Incompatibility(
                        "additional-properties",
                        ".*",
                        "the reader no longer accepts undeclared properties",
                        f"{wp}/additionalProperties",
                        f"{rp}/additionalProperties",
                        w_extra,
                        False,
                    )
                )
            else:
                issues += self._child(
                    ".*",
                    w_extra,
                    f"{wp}/additionalProperties",
                    r_extra,
                    f"{rp}/additionalProperties",
                )
        issues += [i for i in required_issues(w, wp, r, rp, w_props) if i.path[1:] not in absent]
        issues += self._dependency_issues(w, wp, r, rp)
        if "propertyNames" in r:
            if "propertyNames" in w:
                issues += self._child(
                    ".*",
                    w["propertyNames"],
                    f"{wp}/propertyNames",
                    r["propertyNames"],
                    f"{rp}/propertyNames",
                )
            elif r["propertyNames"] is not True:
                issues.append(
                    Incompatibility(
                        "property-names",
                        "",
                        "the reader restricts property names",
                        wp,
                        f"{rp}/propertyNames",
                    )
                )
        return issues

    def _absent_properties(self, w_props: dict[str, Any], r_props: dict[str, Any]) -> set[str]:
        """Names flagged (e.g. ``readOnly`` for requests) on either side: never sent."""
        flag = self.absent_flag
        if flag is None:
            return set()
        absent = set()
        for props, resolver in ((w_props, self.writer), (r_props, self.reader)):
            for name, schema in props.items():
                schema, _ = resolver.deref(schema)
                if isinstance(schema, dict) and schema.get(flag) is True:
                    absent.add(name)
        return absent

    def _dependency_issues(
        self, w: dict[str, Any], wp: str, r: dict[str, Any], rp: str
    ) -> list[Incompatibility]:
        issues: list[Incompatibility] = []
        w_required = set(as_list(w.get("required")))
        w_deps = {
            **as_mapping(w.get("dependencies")),
            **as_mapping(w.get("dependentRequired")),
            **as_mapping(w.get("dependentSchemas")),
        }
        for keyword in ("dependencies", "dependentRequired", "dependentSchemas"):
            for trigger, needed in as_mapping(r.get(keyword)).items():
                pointer = f"{rp}/{keyword}/{trigger}"
                have = w_deps.get(trigger)
                if isinstance(needed, list):
                    missing = set(needed) - set(as_list(have)) - w_required
                    if missing:
                        issues.append(
                            Incompatibility(
                                "dependency",
                                "",
                                f"when `{trigger}` is present the reader also requires {short_values(sorted(missing))}",
                                wp,
                                pointer,
                                have,
                                needed,
                            )
                        )
                elif have is None:
                    issues.append(
                        Incompatibility(
                            "dependency",
                            "",
                            f"the reader adds a schema dependency on `{trigger}`",
                            wp,
                            pointer,
                            None,
                            needed,
                        )
                    )
                elif isinstance(have, (dict, bool)):
                    issues += self._sub(have, f"{wp}/{keyword}/{trigger}", needed, pointer)
        return issues


_SPREADING = ("allOf", "anyOf", "oneOf", "if", "dependentSchemas", "$ref")


def _extra(schema: dict[str, Any], default: Any) -> Any:
    """The schema for undeclared properties: ``additionalProperties``, else
    ``unevaluatedProperties`` when no combinator spreads evaluation over subschemas
    (with one, the properties they evaluate are unknown here, so it is left open)."""
    if "additionalProperties" in schema:
        return schema["additionalProperties"]
    if "unevaluatedProperties" in schema and not any(key in schema for key in _SPREADING):
        return schema["unevaluatedProperties"]
    return default
