"""Registry business rules: registration, compatibility, lifecycle and consumers.

Functions take keyword-only arguments and never commit; the request (or CLI command)
owns the unit of work. Every write appends an audit entry in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, object_session

from policies import PolicyPack
from stockplane.audit import record
from stockplane.auth import Principal, Role
from stockplane.documents import Document, load_text
from stockplane.errors import Conflict, DocumentError, Forbidden, InputError
from stockplane.settings import RegistrySettings

from .diff.compatibility import Mode, Side
from .diff.engine import DiffOptions, diff_contracts
from .diff.findings import Finding, Severity
from .diff.schema_vocab import Policy
from .kinds import detect_kind
from .lint import lint_document
from .models import Consumer, Contract, ContractVersion
from .refs import RefResolver
from .repository import canonical_text, consumers_of, find_contract, get_version, versions_of
from .validation import validate_document
from .versioning import check_range, covers, next_version, parse_semver, required_bump, satisfies

__all__ = [
    "Registration",
    "add_consumer",
    "deprecate",
    "diff_versions",
    "finding_dict",
    "impact",
    "register",
    "retire",
]

_IGNORED_GROUPS = ("api-version", "api-major-version", "api-minor-version")  # the registry versions itself


@dataclass
class Registration:
    """What a registration did (or, for a dry run, would do)."""

    version: ContractVersion | None
    created: bool
    proposed: str
    required_bump: str
    findings: list[Finding] = field(default_factory=list)
    dry_run: bool = False


def finding_dict(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "message": finding.message,
        "location": {"pointer": finding.location.pointer, "line": finding.location.line},
        "old": finding.old,
        "new": finding.new,
    }


def _parse(content: str, name: str, settings: RegistrySettings) -> Side:
    document = load_text(
        content,
        source=name,
        max_bytes=settings.max_document_bytes,
        max_depth=settings.max_nesting_depth,
    )
    return Side(document, RefResolver(document))  # no open_relative: stored contracts are self-contained


_PARSED: OrderedDict[str, Side] = OrderedDict()
_PARSED_LIMIT = 128
_PARSED_BYTES_LIMIT = 32 * 1024 * 1024
"""Canonical JSON the cache may hold, summed: a parsed document costs several times its
text, so a count alone would let 128 large versions pin gigabytes."""


def _canonical(data: Any) -> bytes:
    """Sorted-key JSON: what a version's hash is taken over and what is stored.

    Serialised again where it is stored rather than kept: holding a document-sized copy
    through lint and the diff would raise a check's peak memory by one document.
    """
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def _side_of(version: ContractVersion) -> Side:
    """A stored version, parsed once per process and cached by content hash (versions are
    immutable), so a transitive check does not re-read and re-parse every earlier version."""
    side = _PARSED.get(version.content_hash)
    if side is None:
        session = object_session(version)
        assert session is not None, "stored versions are read within the request's session"
        text = canonical_text(session, version)
        # the stdlib decoder peaks at a fraction of orjson's
        document = Document(
            data=json.loads(text), source=version.content_hash[:12], format="json", size=len(text)
        )
        del text  # the tree is what is cached, not the text
        side = _PARSED[version.content_hash] = Side(document, RefResolver(document))
        held = sum(cached.document.size for cached in _PARSED.values())
        while len(_PARSED) > 1 and (len(_PARSED) > _PARSED_LIMIT or held > _PARSED_BYTES_LIMIT):
            _, dropped = _PARSED.popitem(last=False)
            held -= dropped.document.size
    else:
        _PARSED.move_to_end(version.content_hash)
    side.document.source = f"{version.contract.name}@{version.version}"
    return side


def _check_document(side: Side, requested_kind: str | None, contract: Contract | None) -> str:
    kind = detect_kind(
        side.document.data, side.document.source, requested_kind or (contract.kind if contract else "auto")
    )
    if contract is not None and kind != contract.kind:
        raise InputError(f"contract {contract.name!r} is {contract.kind}, this document is {kind}")
    problems = validate_document(side.document, kind)  # validated once, here, never again
    if problems:
        raise DocumentError(
            side.document.source,
            f"not a valid {kind} document: {problems[0].pointer or '/'}: {problems[0].message}",
            line=problems[0].line,
            problems=[{"pointer": p.pointer, "line": p.line, "message": p.message} for p in problems],
        )
    return kind


def register(
    session: Session,
    *,
    name: str,
    content: str,
    principal: Principal,
    pack: PolicyPack,
    settings: RegistrySettings,
    version: str | None = None,
    kind: str | None = None,
    owner: str | None = None,
    description: str | None = None,
    tags: list[str] | None = None,
    mode: str | None = None,
    policy: str | None = None,
    dry_run: bool = False,
) -> Registration:
    """Check a new version against the rules and, unless ``dry_run``, store it.

    Identical content returns the existing version. A breaking change needs an explicit
    new major version; without a version, additions and fixes get the next minor or patch.
    """
    contract = find_contract(session, name)
    side = _parse(content, name, settings)
    doc_kind = _check_document(side, kind, contract)
    digest = hashlib.sha256(_canonical(side.document.data)).hexdigest()
    existing = versions_of(session, contract) if contract else []
    same = next((v for v in existing if v.content_hash == digest), None)
    if same is not None:
        return Registration(same, False, same.version, "none", list(_stored_findings(same)), dry_run)

    defaults = pack.compatibility.get("events" if doc_kind == "jsonschema" else "apis")
    contract_mode = Mode(
        mode or (contract.compatibility_mode if contract else defaults.mode if defaults else "BACKWARD")
    )
    contract_policy = policy or (
        contract.compatibility_policy if contract else defaults.policy if defaults else "lenient"
    )
    live = [v for v in existing if v.state != "retired"]
    findings = lint_document(side, doc_kind, pack)
    if live:
        findings += _compatibility(live, side, contract_mode, contract_policy, pack)
    latest = max((v.ordering for v in existing), default=None)
    bump = (
        required_bump([f for f in findings if not f.rule.startswith(("openapi-", "event-"))])
        if latest
        else "initial"
    )
    proposed = ".".join(map(str, next_version(latest, bump)))
    blocking = [f for f in findings if f.severity is Severity.ERROR]
    if blocking and any(f.rule.startswith(("openapi-", "event-")) for f in blocking):
        raise Conflict(
            f"{name}: the document breaks {len([f for f in blocking if f.rule.startswith(('openapi-', 'event-'))])} "
            f"governance rule(s) of {pack.label}",
            findings=[finding_dict(f) for f in findings],
            policy_pack=pack.label,
        )
    if version is None:
        if bump == "major" and latest is not None:
            raise Conflict(
                f"{name}: the change breaks consumers ({len(blocking)} breaking finding(s)); "
                f"register it deliberately as a new major version, e.g. {proposed}",
                findings=[finding_dict(f) for f in findings],
                proposed_version=proposed,
                required_bump=bump,
            )
        version = proposed
    chosen = parse_semver(version)
    version = ".".join(map(str, chosen))
    if any(v.version == version for v in existing):
        raise Conflict(
            f"{name}@{version} already exists with different content; versions are immutable",
            proposed_version=proposed,
        )
    if latest is not None and not satisfies(latest, chosen, bump):
        raise Conflict(
            f"{name}: {version} is not a {bump} step from {'.'.join(map(str, latest))}; the change needs at least {proposed}",
            findings=[finding_dict(f) for f in findings],
            proposed_version=proposed,
            required_bump=bump,
        )
    if dry_run:
        return Registration(None, False, version, bump, findings, True)
    if contract is None:
        contract = Contract(
            name=name,
            kind=doc_kind,
            owner=owner or "",
            description=description or "",
            tags=tags or [],
            compatibility_mode=contract_mode.value,
            compatibility_policy=contract_policy,
            created_at=_now(),
            created_by=principal.name,
        )
        session.add(contract)
    stored = ContractVersion(
        contract=contract,
        version=version,
        major=chosen[0],
        minor=chosen[1],
        patch=chosen[2],
        content_text=content,
        canonical_json=_canonical(side.document.data).decode(),
        content_hash=digest,
        state="active",
        changelog=[finding_dict(f) for f in findings],
        policy_pack=pack.label,
        created_at=_now(),
        created_by=principal.name,
    )
    session.add(stored)
    _flush(session, f"{name}@{version} was registered by someone else at the same moment; read it and retry")
    record(
        session,
        principal,
        "contract.version.registered",
        f"{name}@{version}",
        {"bump": bump, "findings": len(findings), "hash": digest},
        policy_pack=pack.label,
    )
    return Registration(stored, True, version, bump, findings)


def _compatibility(
    live: list[ContractVersion], new: Side, mode: Mode, policy: str, pack: PolicyPack
) -> list[Finding]:
    """The engine's findings against the latest version, or every live one when transitive."""
    earlier = [_side_of(v) for v in live]
    options = DiffOptions(
        mode=mode,
        policy=policy,  # type: ignore[arg-type]
        deprecation_days=pack.deprecation.notice_days("stable"),
        notice_by_stability=dict(pack.deprecation.minimum_notice_days),
        today=dt.date.today(),
    )
    report = diff_contracts(earlier[-1], new, options, earlier=earlier[:-1])
    if mode.transitive and report.kind == "openapi":
        for previous in earlier[:-1]:
            report.findings += diff_contracts(previous, new, options).findings
    return [f for f in report.findings if not f.rule.startswith(_IGNORED_GROUPS)]


def _stored_findings(version: ContractVersion) -> list[Finding]:
    from .diff.findings import Location

    return [
        Finding(
            f["rule"],
            Severity(f["severity"]),
            f["message"],
            Location(f["location"]["pointer"], None, f["location"].get("line")),
            f.get("old"),
            f.get("new"),
        )
        for f in version.changelog
    ]


def diff_versions(session: Session, *, contract: Contract, old: str, new: str) -> list[Finding]:
    """The engine's findings between two stored versions, under the contract's mode."""
    before, after = get_version(session, contract, old), get_version(session, contract, new)
    policy = cast(Policy, contract.compatibility_policy)
    options = DiffOptions(mode=Mode(contract.compatibility_mode), policy=policy, today=dt.date.today())
    if options.mode.transitive:
        options = DiffOptions(
            mode=Mode(contract.compatibility_mode.removesuffix("_TRANSITIVE")),
            policy=options.policy,
            today=options.today,
        )
    findings = diff_contracts(_side_of(before), _side_of(after), options).findings
    return [f for f in findings if not f.rule.startswith(_IGNORED_GROUPS)]


def deprecate(
    session: Session,
    *,
    contract: Contract,
    version: str,
    sunset: dt.date,
    replacement: str | None,
    principal: Principal,
    pack: PolicyPack,
) -> ContractVersion:
    target = get_version(session, contract, version)
    if target.state == "retired":
        raise Conflict(f"{contract.name}@{version} is already retired")
    notice = pack.deprecation.notice_days("stable")
    if (sunset - dt.date.today()).days < notice:
        raise Conflict(
            f"the sunset must be at least {notice} days ahead ({pack.label}); {sunset} is too soon",
            minimum_notice_days=notice,
        )
    if replacement is None and pack.deprecation.replacement_required:
        raise InputError(f"{pack.label} requires a replacement version for every deprecation")
    if replacement is not None:
        successor = get_version(session, contract, replacement)
        if successor.ordering <= target.ordering or successor.state != "active":
            raise InputError(f"the replacement {replacement} must be a newer, active version")
    target.state, target.sunset_on, target.replacement = "deprecated", sunset, replacement
    record(
        session,
        principal,
        "contract.version.deprecated",
        f"{contract.name}@{version}",
        {"sunset": sunset.isoformat(), "replacement": replacement},
        policy_pack=pack.label,
    )
    return target


def retire(
    session: Session, *, contract: Contract, version: str, force: bool, principal: Principal, pack: PolicyPack
) -> ContractVersion:
    target = get_version(session, contract, version)
    if target.state == "retired":
        return target
    blockers: list[str] = []
    if target.sunset_on is None or target.sunset_on > dt.date.today():
        blockers.append(f"its sunset ({target.sunset_on or 'not set: deprecate it first'}) has not passed")
    users = [c for c in consumers_of(session, contract) if covers(c.versions, version)]
    if users and pack.deprecation.block_retirement_with_consumers:
        blockers.append(
            f"{len(users)} consumer(s) still use it: "
            + ", ".join(f"{c.system} ({c.environment})" for c in users)
        )
    if blockers and not force:
        raise Conflict(
            f"{contract.name}@{version} cannot be retired: " + "; ".join(blockers),
            consumers=[_consumer_dict(c) for c in users],
        )
    if blockers and not principal.has(Role.ADMIN):
        raise Forbidden("forcing a retirement needs the admin role")
    target.state = "retired"
    record(
        session,
        principal,
        "contract.version.retired",
        f"{contract.name}@{version}",
        {"forced": bool(blockers), "overridden": blockers},
        policy_pack=pack.label,
    )
    return target


def add_consumer(
    session: Session,
    *,
    contract: Contract,
    system: str,
    environment: str,
    versions: str,
    principal: Principal,
) -> Consumer:
    consumer = Consumer(
        contract_id=contract.id,
        system=system,
        environment=environment,
        versions=check_range(versions),
        created_at=_now(),
        created_by=principal.name,
    )
    session.add(consumer)
    _flush(session, f"{system} ({environment}) is already registered as a consumer of {contract.name}")
    record(
        session,
        principal,
        "contract.consumer.added",
        contract.name,
        {"system": system, "environment": environment, "versions": versions},
    )
    return consumer


def impact(session: Session, *, contract: Contract, version: str) -> list[Consumer]:
    """The consumers a deprecation, retirement or breaking change of ``version`` would hit."""
    get_version(session, contract, version)
    return [c for c in consumers_of(session, contract) if covers(c.versions, version)]


def _consumer_dict(consumer: Consumer) -> dict[str, Any]:
    return {"system": consumer.system, "environment": consumer.environment, "versions": consumer.versions}


def _flush(session: Session, conflict: str) -> None:
    """Write now, so a concurrent duplicate surfaces as a 409 here rather than at commit."""
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(conflict) from None
    except OperationalError as exc:  # SQLite: another writer won the race for the lock
        if "locked" not in str(exc).lower():
            raise
        session.rollback()
        raise Conflict(conflict) from None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class StoredSchema:
    """A registered version as other packages need it: its document, state and hash."""

    document: Any
    state: str
    content_hash: str


def stored_schema(session: Session, *, name: str, version: str) -> StoredSchema | None:
    """The registered contract ``name`` at ``version``, or None when there is none."""
    contract = find_contract(session, name)
    if contract is None:
        return None
    found = session.scalar(
        select(ContractVersion).where(
            ContractVersion.contract_id == contract.id, ContractVersion.version == version
        )
    )
    if found is None:
        return None
    side = _side_of(found)
    return StoredSchema(side.document.data, found.state, found.content_hash)
