"""jsonschema-rs decides quickly, jsonschema explains and has the last word."""

from __future__ import annotations

from policies import load_pack
from tests.tracing.test_api import envelope
from tracing.schemas import CompiledSchema, EnvelopeValidator


def test_the_default_envelope_is_compiled_and_rejections_are_explained_by_jsonschema() -> None:
    validator = EnvelopeValidator(load_pack().sections["envelope"])
    assert validator.compiled
    assert validator.errors(envelope("c-1", "pos.sale", "pos", 0)) == []
    failing = envelope("c-1", "pos.sale", "pos", 0, status="error")  # an error needs its details
    assert validator.errors(failing) == ["/: 'error' is a required property"]
    assert validator.errors([1]) == ["an event must be a JSON object, not list"]


def test_2020_12_keywords_are_honoured_on_the_fast_path() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"a": {"type": "string"}, "p": {"prefixItems": [{"type": "string"}]}},
        "unevaluatedProperties": False,
    }
    checker = CompiledSchema(schema)
    assert checker.compiled
    assert checker.problems({"a": "x"}) == []
    assert checker.problems({"a": "x", "b": 1}) != []  # draft-07 would have let "b" through
    assert checker.problems({"p": [1]}) == ["/p/0: 1 is not of type 'string'"]


def test_the_draft_comes_from_the_schema() -> None:
    # draft-07 reads "items" as a list positionally; 2020-12 would refuse a list there
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "string"}]}
    assert CompiledSchema(draft7).problems([1, "extra"]) == ["/0: 1 is not of type 'string'"]


def test_format_is_an_annotation_on_both_paths() -> None:
    checker = CompiledSchema({"type": "object", "properties": {"d": {"format": "date-time"}}})
    assert checker.problems({"d": "not a date"}) == []


def test_problems_are_in_document_order_and_can_be_capped() -> None:
    checker = CompiledSchema({"type": "array", "items": {"type": "integer"}})
    assert checker.problems(["a", "b", "c"], limit=2) == [
        "/0: 'a' is not of type 'integer'",
        "/1: 'b' is not of type 'integer'",
    ]


def test_a_schema_only_python_can_compile_falls_back_to_jsonschema() -> None:
    # a backreference to a named group: Python's re accepts it, jsonschema-rs refuses it
    checker = CompiledSchema({"type": "string", "pattern": "^(?P<x>a)(?P=x)$"})
    assert not checker.compiled
    assert checker.problems("aa") == []
    assert checker.problems("ab") == ["/: 'ab' does not match '^(?P<x>a)(?P=x)$'"]
