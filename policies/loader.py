"""Load a policy pack: read its files, follow ``extends``, merge, validate, build.

A pack is a folder with ``pack.yaml`` and one file per section (``envelope``,
``statuses``, ``workflows``, ``slos``, ``compatibility``, ``deprecation``, ``lint``; YAML or
JSON). A pack that ``extends`` another overrides only what it names: mappings merge key
by key, anything else replaces. Every mistake in every file is collected and reported
as ``file:line: what is wrong (expected …)``, all at once.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonschema

from stockplane.documents import Document, load_document
from stockplane.errors import DocumentError, InputError
from stockplane.pointers import join_pointer, split_pointer

from .build import build_pack
from .merge import deep_merge
from .model import PolicyPack

__all__ = ["BUILTIN_PACKS", "DEFAULT_PACK", "SECTIONS", "PackError", "Problem", "load_pack", "resolve_pack"]

SECTIONS = ("envelope", "statuses", "workflows", "slos", "compatibility", "deprecation", "lint")
BUILTIN_PACKS = Path(__file__).resolve().parent / "packs"
DEFAULT_PACK = "retail-omnichannel"
_SCHEMAS = Path(__file__).resolve().parent / "schemas"
_SUFFIXES = (".yaml", ".yml", ".json")
_MAX_BYTES = 5 * 1024 * 1024
_MAX_DEPTH = 64


@dataclass(frozen=True)
class Problem:
    """One mistake in a pack, where it is and what was expected."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


class PackError(InputError):
    """A pack that cannot be used; ``problems`` lists every mistake found."""

    problem = "invalid-policy-pack"

    def __init__(self, problems: list[Problem]) -> None:
        first = str(problems[0])
        more = (
            f" (and {len(problems) - 1} more; run `stockplane policy validate`)" if len(problems) > 1 else ""
        )
        super().__init__(f"invalid policy pack: {first}{more}")
        self.problems = problems


@dataclass
class _Layer:
    """One pack folder of the lineage: its pack.yaml and the section files it has."""

    folder: Path
    meta: Document | None
    sections: dict[str, Document] = field(default_factory=dict)


def resolve_pack(location: str | Path | None) -> Path:
    """A pack folder from a path or a built-in pack name (None: the default pack)."""
    if location is None or str(location) == "":
        return BUILTIN_PACKS / DEFAULT_PACK
    candidate = Path(location)
    if candidate.is_dir():
        return candidate.resolve()
    builtin = BUILTIN_PACKS / str(location)
    if "/" not in str(location) and builtin.is_dir():
        return builtin
    raise InputError(
        f"policy pack {str(location)!r} is neither a folder nor a built-in pack ({DEFAULT_PACK})"
    )


def load_pack(location: str | Path | None = None) -> PolicyPack:
    """Load, merge and validate a pack; raises :class:`PackError` listing every mistake."""
    problems: list[Problem] = []
    layers = _lineage(resolve_pack(location), problems)
    merged: dict[str, Any] = {}
    for section in SECTIONS:
        parts = [layer.sections[section].data for layer in layers if section in layer.sections]
        if parts:
            merged[section] = deep_merge(*parts)
    for layer in layers:
        if layer.meta is not None:
            problems += _schema_problems("pack", layer.meta.data, [layer.meta])
    for section, data in merged.items():
        documents = [layer.sections[section] for layer in layers if section in layer.sections]
        section_problems = _section_problems(section, data, documents)
        problems += section_problems
    problems += _cross_section_problems(merged, layers)
    if problems:
        raise PackError(problems)
    top = layers[-1].meta
    assert top is not None
    lineage = tuple(str(layer.meta.data.get("name")) for layer in layers if layer.meta is not None)
    return build_pack(top.data, lineage, merged)


def _lineage(folder: Path, problems: list[Problem], seen: tuple[Path, ...] = ()) -> list[_Layer]:
    """The pack and the packs it extends, base first."""
    if folder in seen:
        problems.append(Problem(str(folder / "pack.yaml"), None, "`extends` loops back to this pack"))
        return []
    layer = _Layer(folder, _read(folder / "pack.yaml", problems, required=True))
    for section in SECTIONS:
        for suffix in _SUFFIXES:
            path = folder / f"{section}{suffix}"
            if path.exists():
                document = _read(path, problems)
                if document is not None:
                    layer.sections[section] = document
                break
    base: list[_Layer] = []
    meta = layer.meta.data if layer.meta is not None and isinstance(layer.meta.data, dict) else {}
    extends = meta.get("extends")
    if isinstance(extends, str):
        try:
            parent = _resolve_extends(extends, folder)
        except InputError as exc:
            assert layer.meta is not None
            problems.append(Problem(layer.meta.source, layer.meta.line_of("/extends"), exc.message))
        else:
            base = _lineage(parent, problems, (*seen, folder))
    return [*base, layer]


def _resolve_extends(extends: str, folder: Path) -> Path:
    relative = (folder / extends).resolve()
    if relative.is_dir():
        return relative
    return resolve_pack(extends)


def _read(path: Path, problems: list[Problem], *, required: bool = False) -> Document | None:
    if not path.exists():
        if required:
            problems.append(
                Problem(str(path), None, "missing: a pack needs a pack.yaml with its name and version")
            )
        return None
    try:
        return load_document(path, max_bytes=_MAX_BYTES, max_depth=_MAX_DEPTH, source=_display(path))
    except DocumentError as exc:
        problems.append(Problem(exc.source, exc.line, exc.message.split(": ", 1)[-1]))
        return None


def _display(path: Path) -> str:
    """Built-in pack files are shown relative to the packs folder, others as given."""
    try:
        return str(path.relative_to(BUILTIN_PACKS))
    except ValueError:
        return str(path)


@cache
def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((_SCHEMAS / f"{name}.schema.json").read_text())
    return schema


def _section_problems(section: str, data: Any, documents: list[Document]) -> list[Problem]:
    if section == "envelope":
        return _envelope_problems(data, documents)
    return _schema_problems(section, data, documents)


def _schema_problems(name: str, data: Any, documents: list[Document]) -> list[Problem]:
    validator = jsonschema.Draft202012Validator(_schema(name))
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        pointer = ""
        for token in error.absolute_path:
            pointer = join_pointer(pointer, token)
        message = _explain(error, pointer)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            declared = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
            extra = next((key for key in error.instance if key not in declared), None)
            if extra is not None:
                pointer = join_pointer(pointer, extra)  # point at the unexpected key's own line
        problems.append(_locate(documents, pointer, message))
    return problems


def _envelope_problems(data: Any, documents: list[Document]) -> list[Problem]:
    meta = jsonschema.Draft202012Validator(jsonschema.Draft202012Validator.META_SCHEMA)
    problems = []
    for error in meta.iter_errors(data):
        pointer = ""
        for token in error.absolute_path:
            pointer = join_pointer(pointer, token)
        problems.append(
            _locate(documents, pointer, f"the envelope is not a valid JSON Schema: {error.message}")
        )
    return problems


def _explain(error: jsonschema.ValidationError, pointer: str) -> str:
    where = pointer or "top level"
    message = error.message
    if error.validator == "additionalProperties" and isinstance(error.schema, dict):
        allowed = sorted(error.schema.get("properties", {}))
        if allowed:
            message += f" (expected one of: {', '.join(allowed)})"
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    if description and error.validator in ("pattern", "type", "oneOf", "format"):
        message += f" (expected {description})"
    return f"{where}: {message}"


def _locate(documents: list[Document], pointer: str, message: str) -> Problem:
    """Blame the file that supplied the deepest part of ``pointer`` (the last to set it)."""
    tokens = split_pointer(pointer)
    best, best_depth = documents[-1], -1
    for document in documents:
        depth = _depth_present(document.data, tokens)
        if depth >= best_depth:
            best, best_depth = document, depth
    return Problem(best.source, best.line_of(pointer), message)


def _depth_present(data: Any, tokens: list[str]) -> int:
    depth = 0
    node = data
    for token in tokens:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            break
        depth += 1
    return depth


def _cross_section_problems(merged: dict[str, Any], layers: list[_Layer]) -> list[Problem]:
    """Checks a schema cannot express: references between sections and to canonical words."""
    problems: list[Problem] = []

    def documents(section: str) -> list[Document]:
        return [layer.sections[section] for layer in layers if section in layer.sections]

    statuses = _mapping(merged.get("statuses"))
    canonical = set(_mapping(statuses.get("canonical")))
    for system, words in _mapping(statuses.get("mappings")).items():
        for word, target in _mapping(words).items():
            if canonical and isinstance(target, str) and target not in canonical:
                pointer = join_pointer(join_pointer("/mappings", system), word)
                message = f"{pointer}: {system} word {word!r} maps to {target!r}, which is not a canonical status (expected one of: {', '.join(sorted(canonical))})"
                problems.append(_locate(documents("statuses"), pointer, message))
    problems += _instance_problems(_mapping(merged.get("workflows")), documents("workflows"))
    slos = _mapping(merged.get("slos"))
    alerts = set(_mapping(slos.get("burn_rate_alerts")))
    workflows = set(_mapping(_mapping(merged.get("workflows")).get("workflows")))
    zone = _mapping(slos.get("evaluation")).get("time_zone")
    if isinstance(zone, str) and not _is_time_zone(zone):
        message = f"/evaluation/time_zone: unknown time zone {zone!r} (an IANA name such as Europe/London)"
        problems.append(_locate(documents("slos"), "/evaluation/time_zone", message))
    for name, slo in _mapping(slos.get("slos")).items():
        slo = _mapping(slo)
        named_alerts = slo.get("alerts")
        for index, alert in enumerate(named_alerts if isinstance(named_alerts, list) else []):
            if isinstance(alert, str) and alert not in alerts:
                pointer = f"{join_pointer('/slos', name)}/alerts/{index}"
                problems.append(
                    _locate(
                        documents("slos"),
                        pointer,
                        f"{pointer}: unknown burn-rate alert {alert!r} (expected one of: {', '.join(sorted(alerts))})",
                    )
                )
        wanted = _mapping(slo.get("filter")).get("workflow")
        for workflow in [wanted] if isinstance(wanted, str) else wanted if isinstance(wanted, list) else []:
            if workflows and workflow not in workflows:
                pointer = f"{join_pointer('/slos', name)}/filter/workflow"
                problems.append(
                    _locate(
                        documents("slos"),
                        pointer,
                        f"{pointer}: unknown workflow {workflow!r} (expected one of: {', '.join(sorted(workflows))})",
                    )
                )
    return problems


def _is_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _instance_problems(section: Mapping[str, Any], documents: list[Document]) -> list[Problem]:
    """A step expected from each instance of its system needs those instances listed."""
    problems = []
    listed = _mapping(section.get("instances"))
    for name, workflow in _mapping(section.get("workflows")).items():
        steps = _mapping(workflow).get("steps")
        for index, step in enumerate(steps if isinstance(steps, list) else []):
            if not (isinstance(step, Mapping) and step.get("each_instance") is True):
                continue
            system = step.get("system")
            systems = [system] if isinstance(system, str) else system if isinstance(system, list) else []
            unlisted = [s for s in systems if s not in listed]
            if systems and not unlisted:
                continue
            pointer = f"{join_pointer('/workflows', name)}/steps/{index}/each_instance"
            needs = f"`instances` to list those of {', '.join(unlisted)}" if unlisted else "a `system`"
            message = f"{pointer}: a step expected from each instance needs {needs}"
            problems.append(_locate(documents, pointer, message))
    return problems


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def pack_sections(pack: PolicyPack) -> dict[str, Any]:
    """The merged sections as plain data (what `stockplane policy show` prints)."""
    sections: dict[str, Any] = _thaw(pack.sections)
    return sections


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return copy.deepcopy(value)
