"""Request dependencies: the database session (the request owns the commit), the caller, and
the shared parsing of query parameters (RFC 3339 times)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BeforeValidator, WithJsonSchema
from sqlalchemy.orm import Session

from .auth import ANONYMOUS, Principal, Role, authenticate
from .database import Database
from .errors import Forbidden, InputError

__all__ = [
    "BEARER",
    "RFC3339Time",
    "Reader",
    "SessionDep",
    "Text",
    "current_principal",
    "parse_rfc3339",
    "require",
]


def _session(request: Request) -> Iterator[Session]:
    database: Database = request.app.state.database
    with database.session() as session:  # commits when the endpoint returns, rolls back on error
        yield session


SessionDep = Annotated[Session, Depends(_session, scope="function")]

# Declares the scheme in OpenAPI (``components.securitySchemes.ApiKey``); it never answers
# by itself, so `authenticate` keeps the one problem+json 401 with its precise reasons.
BEARER = HTTPBearer(
    scheme_name="ApiKey",
    bearerFormat="sp_<prefix>_<secret>",
    description="An API key from `stockplane keys create`, sent as `Authorization: Bearer KEY`.",
    auto_error=False,
)


def current_principal(
    request: Request,
    session: SessionDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
) -> Principal:
    authorization = request.headers.get("authorization")  # raw: a wrong scheme must not pass
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

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII)


def parse_rfc3339(value: object) -> dt.datetime:
    """An RFC 3339 date-time with its UTC offset, or a 400 saying what is wrong.

    Pydantic alone would take ``0.5`` as seconds since 1970 and a time without an offset
    as naive; neither names an instant a person meant.
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise InputError(f"{value.isoformat()} needs a UTC offset (RFC 3339), e.g. Z or +01:00")
        return value
    text = value if isinstance(value, str) else repr(value)
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        hint = "needs a UTC offset" if _RFC3339.fullmatch(text + "Z") else "is not an RFC 3339 date-time"
        raise InputError(f"{text[:64]!r} {hint}, e.g. 2026-11-28T09:00:00Z or 2026-11-28T10:00:00+01:00")
    try:
        return dt.datetime.fromisoformat(value.upper())
    except ValueError as exc:  # e.g. month 13 or second 60
        raise InputError(f"{value!r} is not a valid date-time: {exc}") from None


# Raises InputError (not ValueError) on purpose: pydantic lets it through, so a bad time is
# the same 400 problem on every endpoint rather than a 422 here and a 400 there.
RFC3339Time = Annotated[
    dt.datetime,
    BeforeValidator(parse_rfc3339),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A query parameter holding an instant: ``since: RFC3339Time | None = None``."""


def _without_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not hold a NUL character (\\u0000): no database stores one")
    return value


Text = Annotated[str, AfterValidator(_without_nul)]
"""Text a caller sends to be stored: refused with a 422 when it holds NUL, on SQLite (which
would store it) as on PostgreSQL (which cannot)."""
