"""Checking events against JSON Schemas at ingestion speed: jsonschema-rs decides,
jsonschema explains.

Nearly every event is valid. jsonschema-rs (compiled Rust, every draft up to 2020-12)
answers "valid?" for the envelope in about a microsecond, where jsonschema's pure-Python
walk took tens and was most of the time spent ingesting. The reasons users read (in the
problem details and on the CLI) stay jsonschema's, so an instance jsonschema-rs refuses
is walked again by jsonschema, whose verdict is final. Both read ``$schema`` to pick the
draft and both treat ``format`` as an annotation; jsonschema-rs never fetches remote
references. A schema jsonschema-rs cannot compile (a regular expression only Python's
``re`` accepts, say) is checked by jsonschema alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jsonschema
import jsonschema_rs
import orjson

from stockplane.pointers import join_pointer

__all__ = ["CompiledSchema", "EnvelopeValidator"]


class CompiledSchema:
    """One schema, compiled once, asked many times."""

    def __init__(self, schema: Mapping[str, Any] | bool) -> None:
        # packs are frozen (mapping proxies, tuples); both validators want plain JSON values
        plain = orjson.loads(orjson.dumps(schema, default=dict))
        cls = jsonschema.validators.validator_for(plain, default=jsonschema.Draft202012Validator)
        self._explainer: jsonschema.protocols.Validator = cls(plain)
        self._fast: Callable[[Any], bool] | None
        try:
            self._fast = jsonschema_rs.validator_for(plain, validate_formats=False, offline=True).is_valid
        except (jsonschema_rs.ValidationError, ValueError):
            self._fast = None

    @property
    def compiled(self) -> bool:
        """Whether the fast path is in use."""
        return self._fast is not None

    def problems(self, instance: Any, *, limit: int | None = None) -> list[str]:
        """What is wrong with ``instance``, as ``pointer: message`` in document order;
        empty when it is valid."""
        if self._fast is not None and self._fast(instance):
            return []
        found = sorted(self._explainer.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
        messages = []
        for error in found[:limit]:
            pointer = ""
            for token in error.absolute_path:
                pointer = join_pointer(pointer, token)
            messages.append(f"{pointer or '/'}: {error.message}")
        return messages


class EnvelopeValidator(CompiledSchema):
    """The policy pack's envelope: says what is wrong with an event, or nothing."""

    def errors(self, item: Any) -> list[str]:
        if not isinstance(item, dict):
            return [f"an event must be a JSON object, not {type(item).__name__}"]
        return self.problems(item)
