"""Governance as code: versioned policy packs that every other package reads.

from policies import load_pack
pack = load_pack()                      # the default retail pack
pack.statuses.canonicalize("wms", "qa_hold")   # -> "quarantined"
pack.slos["oversell-rate"].target       # -> 0.995
"""

from .loader import (
    BUILTIN_PACKS,
    DEFAULT_PACK,
    SECTIONS,
    PackError,
    Problem,
    load_pack,
    pack_sections,
    resolve_pack,
)
from .model import (
    BurnRateAlert,
    CompatibilityDefault,
    DeprecationPolicy,
    LintRuleConfig,
    PolicyPack,
    Slo,
    Statuses,
    Workflow,
    WorkflowStep,
)

__all__ = [
    "BUILTIN_PACKS",
    "DEFAULT_PACK",
    "SECTIONS",
    "BurnRateAlert",
    "CompatibilityDefault",
    "DeprecationPolicy",
    "LintRuleConfig",
    "PackError",
    "PolicyPack",
    "Problem",
    "Slo",
    "Statuses",
    "Workflow",
    "WorkflowStep",
    "load_pack",
    "pack_sections",
    "resolve_pack",
]
