"""The registry's HTTP API: thin handlers over :mod:`registry.service`."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.orm import Session

from policies import PolicyPack
from stockplane.api import Reader, SessionDep, require
from stockplane.audit import record
from stockplane.auth import Principal, Role
from stockplane.bodies import BodyTooLarge, read_body
from stockplane.errors import AppError
from stockplane.gates import gate_of
from stockplane.problems import problem_responses
from stockplane.settings import RegistrySettings

from . import service
from .models import Consumer, Contract, ContractVersion
from .repository import consumers_of, get_contract, get_version, list_contracts, versions_of
from .schemas import (
    CompatibilityResult,
    ConsumerCreate,
    ConsumerRead,
    ContractPage,
    ContractRead,
    ContractUpdate,
    DeprecationCreate,
    DiffRead,
    FindingRead,
    ImpactRead,
    RegistrationRead,
    VersionCreate,
    VersionDocument,
    VersionRead,
)
from .versioning import required_bump

router = APIRouter(prefix="/v1/contracts", tags=["contracts"], responses=problem_responses(401, 403, 404))
Architect = Annotated[Principal, Depends(require(Role.ARCHITECT))]


def _pack(request: Request) -> PolicyPack:
    pack: PolicyPack = request.app.state.pack
    return pack


def _settings(request: Request) -> Any:
    return request.app.state.settings.registry


def _document_limit(request: Request) -> int:
    limit: int = request.app.state.settings.registry.max_api_document_bytes
    return limit


async def _version_body(request: Request) -> VersionCreate:
    """The request's VersionCreate, read within the server's document limit and read timeout.

    JSON escaping can double a document's text (quotes, newlines), so the body may be twice
    the document limit; the document itself is held to the limit before it is parsed.
    """
    settings = request.app.state.settings
    limit = _document_limit(request)
    raw = await read_body(
        request,
        limit=2 * limit + 65_536,
        what="request for a document",
        seconds=settings.server.body_read_seconds,
    )
    try:
        body = VersionCreate.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        ) from None
    if len(body.content) > limit:  # characters: at least one byte each
        raise BodyTooLarge(
            f"the document is {len(body.content):,} characters; the limit is {limit:,} bytes "
            "(STOCKPLANE_REGISTRY__MAX_API_DOCUMENT_BYTES)",
            limit=limit,
        )
    return body


async def _check_slot(request: Request) -> AsyncIterator[None]:
    """One of the worker's places for a registration or compatibility check: each can cost
    many times its document in memory, so only a few run at once (429 past them)."""
    gate = gate_of(request, "registry_gate", "registrations or compatibility checks")
    with gate.hold(request.app.state.settings.registry.max_concurrent_checks):
        yield


# Declared after the principal: unauthenticated callers are refused before a byte is read,
# and the body is in before a place is taken.
DocumentBody = Annotated[VersionCreate, Depends(_version_body)]
CheckSlot = Annotated[None, Depends(_check_slot)]
_DOCUMENT_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": VersionCreate.model_json_schema(ref_template="#/components/schemas/{model}")
        }
    },
}


def _registry_settings(request: Request) -> RegistrySettings:
    """The registry limits, with the server's own (lower) cap on a document's size."""
    settings: RegistrySettings = _settings(request)
    limit = min(settings.max_document_bytes, settings.max_api_document_bytes)
    return settings.model_copy(update={"max_document_bytes": limit})


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _findings(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _contract_read(session: Session, contract: Contract) -> ContractRead:
    versions = versions_of(session, contract)
    return ContractRead(
        name=contract.name,
        kind=contract.kind,
        owner=contract.owner,
        description=contract.description,
        tags=list(contract.tags),
        compatibility_mode=contract.compatibility_mode,
        compatibility_policy=contract.compatibility_policy,
        created_at=contract.created_at,
        created_by=contract.created_by,
        latest_version=versions[-1].version if versions else None,
        versions=len(versions),
    )


def _version_read(version: ContractVersion) -> VersionRead:
    return VersionRead(
        contract=version.contract.name,
        version=version.version,
        state=version.state,
        sunset=version.sunset_on,
        replacement=version.replacement,
        content_hash=version.content_hash,
        policy_pack=version.policy_pack,
        created_at=version.created_at,
        created_by=version.created_by,
        changelog=[FindingRead(**finding) for finding in version.changelog],
    )


def _consumer_read(contract: Contract, consumer: Consumer) -> ConsumerRead:
    return ConsumerRead(
        id=consumer.id,
        contract=contract.name,
        system=consumer.system,
        environment=consumer.environment,
        versions=consumer.versions,
        created_at=consumer.created_at,
        created_by=consumer.created_by,
    )


@router.get("", response_model=ContractPage, summary="List contracts")
def contracts(
    session: SessionDep,
    _reader: Reader,
    kind: str | None = None,
    owner: str | None = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ContractPage:
    found = list_contracts(session, kind=kind, owner=owner, after=cursor, limit=limit + 1)
    page = found[:limit]
    return ContractPage(
        items=[_contract_read(session, c) for c in page],
        next_cursor=page[-1].name if len(found) > limit else None,
    )


@router.get("/{name}", response_model=ContractRead, summary="One contract")
def contract(name: str, session: SessionDep, _reader: Reader) -> ContractRead:
    return _contract_read(session, get_contract(session, name))


@router.patch(
    "/{name}",
    response_model=ContractRead,
    summary="Change a contract's owner, description, tags or compatibility",
)
def update_contract(
    name: str, body: ContractUpdate, request: Request, session: SessionDep, principal: Architect
) -> ContractRead:
    found = get_contract(session, name)
    changes = body.model_dump(exclude_none=True)
    for key, value in changes.items():
        setattr(found, key, value)
    record(session, principal, "contract.updated", name, changes, policy_pack=_pack(request).label)
    return _contract_read(session, found)


@router.get("/{name}/versions", response_model=list[VersionRead], summary="All versions, oldest first")
def versions(name: str, session: SessionDep, _reader: Reader) -> list[VersionRead]:
    return [_version_read(v) for v in versions_of(session, get_contract(session, name))]


@router.post(
    "/{name}/versions",
    response_model=RegistrationRead,
    status_code=201,
    summary="Register a version (validation, lint and compatibility first)",
    responses={
        200: {"description": "Identical content: the existing version, or a dry run"},
        **problem_responses(408, 409, 413, 422, 429),
    },
    openapi_extra={"requestBody": _DOCUMENT_BODY},
)
def register_version(
    name: str,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Architect,
    body: DocumentBody,
    _slot: CheckSlot,
    dry_run: Annotated[bool, Query(description="check without registering")] = False,
) -> RegistrationRead:
    result = service.register(
        session,
        name=name,
        content=body.content,
        principal=principal,
        pack=_pack(request),
        settings=_registry_settings(request),
        version=body.version,
        kind=body.kind,
        owner=body.owner,
        description=body.description,
        tags=body.tags,
        mode=body.compatibility_mode,
        policy=body.compatibility_policy,
        dry_run=dry_run,
    )
    if not result.created:
        response.status_code = 200
    return RegistrationRead(
        created=result.created,
        dry_run=result.dry_run,
        version=result.proposed,
        required_bump=result.required_bump,
        findings=[FindingRead(**service.finding_dict(f)) for f in result.findings],
        registered=_version_read(result.version) if result.version is not None else None,
    )


@router.post(
    "/{name}/compatibility",
    response_model=CompatibilityResult,
    summary="Would this document be accepted? (the CI gate)",
    responses=problem_responses(408, 413, 422, 429),
    openapi_extra={"requestBody": _DOCUMENT_BODY},
)
def compatibility(
    name: str,
    request: Request,
    session: SessionDep,
    principal: Reader,
    body: DocumentBody,
    _slot: CheckSlot,
) -> CompatibilityResult:
    pack = _pack(request)
    try:
        result = service.register(
            session,
            name=name,
            content=body.content,
            principal=principal,
            pack=pack,
            settings=_registry_settings(request),
            version=body.version,
            kind=body.kind,
            dry_run=True,
        )
    except AppError as exc:
        if exc.status != 409:
            raise
        return CompatibilityResult(
            compatible=False,
            proposed_version=_text(exc.extensions.get("proposed_version")),
            required_bump=_text(exc.extensions.get("required_bump")),
            findings=[FindingRead(**finding) for finding in _findings(exc.extensions.get("findings"))],
            detail=exc.message,
            policy_pack=pack.label,
        )
    return CompatibilityResult(
        compatible=True,
        proposed_version=result.proposed,
        required_bump=result.required_bump,
        findings=[FindingRead(**service.finding_dict(f)) for f in result.findings],
        policy_pack=pack.label,
    )


@router.get(
    "/{name}/versions/{version}", response_model=VersionDocument, summary="One version with its document"
)
def version(
    name: str, version: str, response: Response, session: SessionDep, _reader: Reader
) -> VersionDocument:
    found = get_version(session, get_contract(session, name), version)
    if found.state == "deprecated":
        _deprecation_headers(response, name, found)
    import orjson

    return VersionDocument(**_version_read(found).model_dump(), document=orjson.loads(found.canonical_json))


def _deprecation_headers(response: Response, name: str, found: ContractVersion) -> None:
    """RFC 9745 ``Deprecation`` (a structured date) and RFC 8594 ``Sunset`` (an HTTP date)."""
    deprecated_at = int(found.created_at.timestamp())
    response.headers["Deprecation"] = f"@{deprecated_at}"
    if found.sunset_on is not None:
        sunset = dt.datetime.combine(found.sunset_on, dt.time(), tzinfo=dt.UTC)
        response.headers["Sunset"] = format_datetime(sunset, usegmt=True)
    if found.replacement:
        response.headers["Link"] = (
            f'</v1/contracts/{name}/versions/{found.replacement}>; rel="successor-version"'
        )


@router.get("/{name}/diff", response_model=DiffRead, summary="The engine's findings between two versions")
def diff(
    name: str,
    session: SessionDep,
    _reader: Reader,
    from_version: Annotated[str, Query(alias="from")],
    to_version: Annotated[str, Query(alias="to")],
) -> DiffRead:
    found = get_contract(session, name)
    findings = service.diff_versions(session, contract=found, old=from_version, new=to_version)
    return DiffRead(
        contract=name,
        from_version=from_version,
        to_version=to_version,
        required_bump=required_bump(findings),
        findings=[FindingRead(**service.finding_dict(f)) for f in findings],
    )


@router.post(
    "/{name}/versions/{version}/deprecate",
    response_model=VersionRead,
    summary="Deprecate a version with a sunset",
    responses=problem_responses(409, 422),
)
def deprecate(
    name: str,
    version: str,
    body: DeprecationCreate,
    request: Request,
    session: SessionDep,
    principal: Architect,
) -> VersionRead:
    found = service.deprecate(
        session,
        contract=get_contract(session, name),
        version=version,
        sunset=body.sunset,
        replacement=body.replacement,
        principal=principal,
        pack=_pack(request),
    )
    return _version_read(found)


@router.post(
    "/{name}/versions/{version}/retire",
    response_model=VersionRead,
    summary="Retire a version after its sunset",
    responses=problem_responses(409),
)
def retire(
    name: str,
    version: str,
    request: Request,
    session: SessionDep,
    principal: Architect,
    force: Annotated[
        bool, Query(description="admins only: retire despite consumers or an unpassed sunset")
    ] = False,
) -> VersionRead:
    found = service.retire(
        session,
        contract=get_contract(session, name),
        version=version,
        force=force,
        principal=principal,
        pack=_pack(request),
    )
    return _version_read(found)


@router.post(
    "/{name}/consumers",
    response_model=ConsumerRead,
    status_code=201,
    summary="Register a consuming system",
    responses=problem_responses(409, 422),
)
def add_consumer(name: str, body: ConsumerCreate, session: SessionDep, principal: Architect) -> ConsumerRead:
    found = get_contract(session, name)
    consumer = service.add_consumer(
        session,
        contract=found,
        system=body.system,
        environment=body.environment,
        versions=body.versions,
        principal=principal,
    )
    return _consumer_read(found, consumer)


@router.get(
    "/{name}/consumers", response_model=list[ConsumerRead], summary="The systems that consume a contract"
)
def consumers(name: str, session: SessionDep, _reader: Reader) -> list[ConsumerRead]:
    found = get_contract(session, name)
    return [_consumer_read(found, c) for c in consumers_of(session, found)]


@router.get(
    "/{name}/versions/{version}/impact",
    response_model=ImpactRead,
    summary="Who a deprecation, retirement or break of this version would hit",
)
def impact(name: str, version: str, session: SessionDep, _reader: Reader) -> ImpactRead:
    found = get_contract(session, name)
    target = get_version(session, found, version)
    hit = service.impact(session, contract=found, version=version)
    return ImpactRead(
        contract=name, version=version, state=target.state, consumers=[_consumer_read(found, c) for c in hit]
    )
