"""How a pack that ``extends`` another overrides it: a pure deep merge."""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["deep_merge"]


def deep_merge(*layers: Any) -> Any:
    """Merge layers, later ones winning: mappings merge key by key, anything else replaces.

    Workflows, SLOs and status mappings are keyed by name, so a retailer can override one
    SLO's target or one system's word without restating the rest. A key set to null in a
    later layer removes it.
    """
    result: Any = None
    for layer in layers:
        result = _merge(result, layer)
    return result


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = _merge(base.get(key), value)
        return merged
    return copy.deepcopy(override)
