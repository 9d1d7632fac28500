from __future__ import annotations

import json
import time

import pytest

from registry.diff.compatibility import Mode, Side, compare_schemas, schema_compatibility
from stockplane.documents import Document
from tests.conftest import SHARED_TESTDATA

APICURIO = SHARED_TESTDATA / "apicurio" / "jsonschema-compatibility-cases.json"


def side(schema: object, name: str = "doc") -> Side:
    return Side.of(Document(data=schema, source=name))


def reads(writer: object, reader: object, *, policy: str = "strict", budget: int = 1_000_000) -> list:
    w, r = side(writer, "writer"), side(reader, "reader")
    return compare_schemas(w, writer, "", r, reader, "", policy=policy, budget=budget)


def verdict(original: object, updated: object) -> str:
    backward = not reads(original, updated)
    forward = not reads(updated, original)
    return {
        (True, True): "both",
        (True, False): "backward",
        (False, True): "forward",
        (False, False): "none",
    }[(backward, forward)]


def apicurio_cases() -> list[dict]:
    if not APICURIO.exists():
        return []
    return json.loads(APICURIO.read_text())["tests"]


@pytest.mark.skipif(not APICURIO.exists(), reason=f"Apicurio test data not found at {APICURIO}")
def test_apicurio_suite_agrees_in_both_directions_under_strict() -> None:
    cases = [case for case in apicurio_cases() if case.get("enabled", True)]
    disagreements = [
        (case["id"], case["compatibility"], got)
        for case in cases
        if (got := verdict(case["original"], case["updated"])) != case["compatibility"]
    ]
    assert len(cases) == 145
    assert len(cases) - len(disagreements) >= 141, disagreements


OBJECT = {"type": "object", "properties": {"sku": {"type": "string"}}}
WITH_OPTIONAL = {"type": "object", "properties": {"sku": {"type": "string"}, "note": {"type": "string"}}}


def test_adding_an_optional_property_is_compatible_only_under_lenient() -> None:
    assert reads(OBJECT, WITH_OPTIONAL, policy="lenient") == []
    (issue,) = reads(OBJECT, WITH_OPTIONAL, policy="strict")
    assert issue.kind == "type"
    assert issue.path == ".note"


@pytest.mark.parametrize(
    ("writer", "reader", "kind", "path"),
    [
        ({"type": "integer"}, {"type": "string"}, "type", ""),
        ({"type": ["string", "null"]}, {"type": "string"}, "nullable", ""),
        ({"type": "string", "enum": ["a", "b"]}, {"type": "string", "enum": ["a"]}, "enum", ""),
        ({"type": "string"}, {"type": "string", "enum": ["a"]}, "enum-set", ""),
        ({"type": "string", "maxLength": 10}, {"type": "string", "maxLength": 5}, "max-length", ""),
        ({"type": "string"}, {"type": "string", "pattern": "^a"}, "pattern-set", ""),
        ({"type": "number", "minimum": 0}, {"type": "number", "exclusiveMinimum": 0}, "minimum", ""),
        (
            {"type": "array", "items": {"type": "string"}},
            {"type": "array", "items": {"type": "integer"}},
            "type",
            "[]",
        ),
        ({"type": "array"}, {"type": "array", "uniqueItems": True}, "unique-items", ""),
        (
            {"type": "object", "required": []},
            {"type": "object", "required": ["sku"]},
            "required-added",
            ".sku",
        ),
        (OBJECT, {**OBJECT, "required": ["sku"]}, "became-required", ".sku"),
        (WITH_OPTIONAL, {**OBJECT, "additionalProperties": False}, "property-not-accepted", ".note"),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, {"anyOf": [{"type": "string"}]}, "any-of", ""),
        ({"oneOf": [{"type": "string"}]}, {"oneOf": [{"type": "integer"}]}, "one-of", ""),
        (
            {"type": "object", "dependentRequired": {}},
            {"type": "object", "dependentRequired": {"a": ["b"]}},
            "dependency",
            "",
        ),
        (True, False, "false", ""),
    ],
)
def test_each_kind_of_incompatibility_is_named(writer: object, reader: object, kind: str, path: str) -> None:
    issues = reads(writer, reader, policy="lenient")
    assert (kind, path) in {(issue.kind, issue.path) for issue in issues}
    assert reads(writer, writer, policy="lenient") == []


@pytest.mark.parametrize(
    ("writer", "reader"),
    [
        ({"type": "integer"}, {"type": "number"}),
        ({"type": "string", "format": "date"}, {"type": "string"}),
        ({"type": "integer", "format": "int32"}, {"type": "integer", "format": "int64"}),
        ({"type": "string", "enum": ["a"]}, {"type": "string", "maxLength": 3}),
        ({"const": 3}, {"type": "integer", "maximum": 5}),
        ({"type": "number", "multipleOf": 10}, {"type": "number", "multipleOf": 5}),
        ({"allOf": [{"type": "string"}, {"maxLength": 5}]}, {"type": "string", "maxLength": 8}),
        ({"type": "string"}, {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
        (
            {"type": "array", "prefixItems": [{"type": "string"}], "items": False},
            {"type": "array", "items": {"type": "string"}},
        ),
    ],
)
def test_widening_is_compatible(writer: object, reader: object) -> None:
    assert reads(writer, reader) == []


def test_recursive_schemas_compare_without_looping() -> None:
    tree = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                    "name": {"type": "string", "maxLength": 10},
                },
            }
        },
        "$ref": "#/$defs/Node",
    }
    narrower = json.loads(json.dumps(tree))
    narrower["$defs"]["Node"]["properties"]["name"]["maxLength"] = 5
    assert reads(tree, tree) == []
    (issue,) = reads(tree, narrower)
    assert issue.kind == "max-length"
    assert issue.path == ".name"
    assert issue.reader_pointer == "/$defs/Node/properties/name/maxLength"


def nested_unions(depth: int, leaf: dict) -> dict:
    """Unions nested ``depth`` deep whose branches repeat: 4**depth naive comparisons."""
    schema: dict = leaf
    for level in range(depth):
        schema = {"oneOf": [schema, {"anyOf": [schema, {"type": "integer", "minimum": level}]}]}
    return json.loads(json.dumps(schema))  # no shared objects, as a parsed document has


def test_nested_unions_do_not_explode() -> None:
    writer = nested_unions(12, {"type": "string"})
    reader = nested_unions(12, {"type": "string", "maxLength": 3})
    started = time.process_time()
    issues = reads(writer, reader)
    assert issues  # the leaf narrowed, so something must be reported
    assert time.process_time() - started < 10  # a guard against 2**40 work, not a speed target


def test_budget_stops_a_comparison_and_says_so() -> None:
    writer = nested_unions(8, {"type": "string"})
    reader = nested_unions(8, {"type": "string", "maxLength": 3})
    assert reads(writer, reader)[0].kind != "too-complex"
    (issue,) = reads(writer, reader, budget=50)
    assert issue.kind == "too-complex"


def test_deeply_nested_schema_is_reported_not_crashed() -> None:
    schema: dict = {"type": "string"}
    for _ in range(400):
        schema = {"type": "object", "properties": {"a": schema}}
    (issue,) = reads(schema, json.loads(json.dumps(schema).replace('"string"', '"integer"')))
    assert issue.kind == "too-complex"


V2 = {"type": "object", "properties": {"status": {"enum": ["available", "reserved"]}}}
V3 = {
    "type": "object",
    "properties": {"status": {"enum": ["available", "reserved", "damaged"]}, "qty": {"type": "integer"}},
}


class TestModes:
    def rules(self, mode: Mode, earlier: list[dict] | None = None) -> set[str]:
        findings = schema_compatibility(
            side(V2, "v2"),
            side(V3, "v3"),
            mode=mode,
            earlier=[side(e, "v1") for e in earlier or []],
        )
        return {f.rule for f in findings}

    def test_backward_allows_a_new_enum_value(self) -> None:
        assert self.rules(Mode.BACKWARD) == set()

    def test_forward_flags_it_for_old_readers(self) -> None:
        assert self.rules(Mode.FORWARD) == {"schema-enum-value-added"}

    def test_full_is_both(self) -> None:
        assert self.rules(Mode.FULL) == {"schema-enum-value-added"}

    def test_none_checks_nothing(self) -> None:
        assert self.rules(Mode.NONE) == set()

    def test_transitive_checks_every_earlier_version(self) -> None:
        v1 = {"type": "object", "properties": {"status": {"enum": ["available"]}, "qty": {"type": "string"}}}
        assert self.rules(Mode.BACKWARD) == set()
        assert self.rules(Mode.BACKWARD_TRANSITIVE, [v1]) == {"schema-type-changed"}


@pytest.mark.skipif(not APICURIO.exists(), reason=f"Apicurio test data not found at {APICURIO}")
def test_apicurio_suite_through_the_cli(cli, tmp_path) -> None:
    """The same verdicts end to end: files, loading, validation and exit codes."""
    agree = 0
    cases = apicurio_cases()
    for index, case in enumerate(cases):
        original, updated = tmp_path / f"{index}-a.json", tmp_path / f"{index}-b.json"
        original.write_text(json.dumps(case["original"]))
        updated.write_text(json.dumps(case["updated"]))
        codes = [
            cli("contracts", "diff", original, updated, "--mode", mode, "--policy", "strict").code
            for mode in ("BACKWARD", "FORWARD")
        ]
        assert 2 not in codes, case["id"]
        got = {(0, 0): "both", (0, 1): "backward", (1, 0): "forward", (1, 1): "none"}[tuple(codes)]
        agree += got == case["compatibility"]
    assert agree >= 141


def test_unevaluated_properties_closes_a_schema_like_additional_properties() -> None:
    open_reader = {"type": "object", "properties": {"sku": {"type": "string"}}}
    closed_reader = {**open_reader, "unevaluatedProperties": False}
    writer = {"type": "object", "properties": {"sku": {"type": "string"}, "note": {"type": "string"}}}
    assert reads(writer, open_reader, policy="lenient") == []
    (issue,) = reads(writer, closed_reader, policy="lenient")
    assert (issue.kind, issue.path) == ("property-not-accepted", ".note")
    spread = {**closed_reader, "allOf": [{"properties": {"note": {"type": "string"}}}]}
    assert reads(writer, spread, policy="lenient") == []  # allOf evaluates `note`: left open
