"""The registry's queries. Nothing here commits; the caller's unit of work does."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from stockplane.errors import NotFound

from .models import Consumer, Contract, ContractVersion

__all__ = ["consumers_of", "find_contract", "get_contract", "get_version", "list_contracts", "versions_of"]


def find_contract(session: Session, name: str) -> Contract | None:
    return session.scalar(select(Contract).where(Contract.name == name))


def get_contract(session: Session, name: str) -> Contract:
    contract = find_contract(session, name)
    if contract is None:
        raise NotFound(f"no contract named {name!r}")
    return contract


def list_contracts(
    session: Session, *, kind: str | None, owner: str | None, after: str | None, limit: int
) -> list[Contract]:
    query = select(Contract).order_by(Contract.name).limit(limit)
    if kind:
        query = query.where(Contract.kind == kind)
    if owner:
        query = query.where(Contract.owner == owner)
    if after:
        query = query.where(Contract.name > after)
    return list(session.scalars(query))


def versions_of(session: Session, contract: Contract) -> list[ContractVersion]:
    """Oldest first, by semantic version."""
    query = select(ContractVersion).where(ContractVersion.contract_id == contract.id)
    return sorted(session.scalars(query), key=lambda v: v.ordering)


def get_version(session: Session, contract: Contract, version: str) -> ContractVersion:
    found = session.scalar(
        select(ContractVersion).where(
            ContractVersion.contract_id == contract.id, ContractVersion.version == version
        )
    )
    if found is None:
        raise NotFound(f"contract {contract.name!r} has no version {version!r}")
    return found


def consumers_of(session: Session, contract: Contract) -> list[Consumer]:
    query = (
        select(Consumer)
        .where(Consumer.contract_id == contract.id)
        .order_by(Consumer.system, Consumer.environment)
    )
    return list(session.scalars(query))


def canonical_text(session: Session, version: ContractVersion) -> str:
    """A version's canonical JSON, read apart from the ORM object.

    The column is deferred; loading it through the attribute would keep a document-sized
    string alive in the session for as long as the request runs, beside the parsed tree.
    """
    return session.scalars(
        select(ContractVersion.canonical_json).where(ContractVersion.id == version.id)
    ).one()
