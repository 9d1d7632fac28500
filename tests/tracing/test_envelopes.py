"""The compiled fast path accepts only what jsonschema would accept, and jsonschema explains."""

from __future__ import annotations

from policies import load_pack
from tests.tracing.test_api import envelope
from tracing.envelopes import EnvelopeValidator


def test_the_default_envelope_is_compiled_and_rejections_are_explained_by_jsonschema() -> None:
    validator = EnvelopeValidator(load_pack().sections["envelope"])
    assert validator.compiled
    assert validator.errors(envelope("c-1", "pos.sale", "pos", 0)) == []
    failing = envelope("c-1", "pos.sale", "pos", 0, status="error")  # an error needs its details
    assert validator.errors(failing) == ["/: 'error' is a required property"]
    assert validator.errors([1]) == ["an event must be a JSON object, not list"]


def test_keywords_draft_07_reads_differently_keep_the_event_on_jsonschema() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "unevaluatedProperties": False}
    validator = EnvelopeValidator(schema)
    assert not validator.compiled
    assert validator.errors({"a": "x", "b": 1}) != []  # draft-07 would have let "b" through
    nested = EnvelopeValidator({"properties": {"p": {"prefixItems": [{"type": "string"}]}}})
    assert not nested.compiled


def test_what_only_the_fast_path_refuses_is_still_accepted() -> None:
    # fastjsonschema checks "format"; jsonschema, as configured, treats it as an annotation.
    validator = EnvelopeValidator({"type": "object", "properties": {"d": {"format": "date-time"}}})
    assert validator.compiled
    assert validator.errors({"d": "not a date"}) == []
    assert validator.errors({"d": 5}) == []
