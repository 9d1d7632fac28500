"""Request dependencies: the database session (the request owns the commit) and the caller."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from .auth import ANONYMOUS, Principal, Role, authenticate
from .database import Database
from .errors import Forbidden

__all__ = ["Reader", "SessionDep", "current_principal", "require"]


def _session(request: Request) -> Iterator[Session]:
    database: Database = request.app.state.database
    with database.session() as session:  # commits when the endpoint returns, rolls back on error
        yield session


SessionDep = Annotated[Session, Depends(_session, scope="function")]


def current_principal(
    request: Request, session: SessionDep, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    if (
        authorization is None
        and request.app.state.settings.anonymous_read
        and request.method in ("GET", "HEAD")
    ):
        return ANONYMOUS
    return authenticate(session, authorization)


def require(role: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting keys with ``role`` (admins always)."""

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has(role):
            raise Forbidden(
                f"this needs the {role.value} role; the key {principal.name!r} has {principal.role.value}"
            )
        return principal

    return check


Reader = Annotated[Principal, Depends(current_principal)]
