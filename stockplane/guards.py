"""Request guards that sit in front of every route."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import PROBLEM_BASE
from .problems import PROBLEM_JSON

__all__ = ["RefuseNul"]


class RefuseNul:
    """Refuse a NUL character in the path or the query string with a 400 problem.

    PostgreSQL cannot store NUL in text and SQLite would: a contract named ``a\\x00b``
    must be refused the same way on both, before any route looks it up or stores it.
    Bodies are checked where they are parsed (request models, event envelopes).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query: bytes = scope.get("query_string", b"")
            if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
                response = JSONResponse(
                    {
                        "type": PROBLEM_BASE + "invalid-input",
                        "title": "Bad Request",
                        "status": 400,
                        "detail": "the path or query holds a NUL character (%00), which no name or filter may contain",
                        "instance": scope["path"].replace("\x00", "%00"),
                    },
                    status_code=400,
                    media_type=PROBLEM_JSON,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
