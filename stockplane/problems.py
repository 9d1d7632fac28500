"""RFC 9457 problem details: one renderer for every error the API returns.

Domain errors (:class:`AppError`), Starlette's own 404 / 405 / 400, request validation
and anything unexpected all leave as ``application/problem+json``; never a stack trace.
Every 401 names the scheme (``WWW-Authenticate: Bearer``), every 405 lists all the methods
of its path in ``Allow``, and a client that hangs up mid-request is one line of log.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match

from .errors import AppError

__all__ = ["PROBLEM_JSON", "Problem", "install_problem_handlers", "problem_responses"]

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("stockplane.api")


class Problem(BaseModel):
    """An RFC 9457 problem document; extension members (e.g. ``findings``) may follow."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries declaring problem+json for these statuses."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def _render(
    request: Request, status: int, detail: str | None, type_uri: str = "about:blank", **extensions: Any
) -> JSONResponse:
    body = {
        "type": type_uri,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extensions,
    }
    response = JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)
    if status == 401:
        response.headers["WWW-Authenticate"] = _challenge(request)
    return response


def _challenge(request: Request) -> str:
    """RFC 6750 §3: name the scheme; say ``invalid_token`` only when a key was sent."""
    if "authorization" in request.headers:
        return 'Bearer realm="stockplane", error="invalid_token"'
    return 'Bearer realm="stockplane"'


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on the request's path (Starlette names only the
    first route that matched the path, so a path with GET and POST routes said just GET)."""
    allowed = set()
    for method in _METHODS:
        probe = {  # a fresh scope: matching must not touch the request's own
            "type": "http",
            "method": method,
            "path": request.scope["path"],
            "root_path": request.scope.get("root_path", ""),
            "headers": request.scope.get("headers", []),
        }
        if any(route.matches(probe)[0] is Match.FULL for route in request.app.routes):
            allowed.add(method)
    if "GET" in allowed:
        allowed.add("HEAD")  # answered like GET by the app's HeadAsGet middleware
    return [method for method in _METHODS if method in allowed]


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> JSONResponse:
        response = _render(request, exc.status, exc.message, exc.type_uri, **exc.extensions)
        if "retry_after" in exc.extensions:
            response.headers["Retry-After"] = str(exc.extensions["retry_after"])
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).description
        response = _render(request, exc.status_code, detail)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        if exc.status_code == 405:
            response.headers["Allow"] = ", ".join(allowed_methods(request)) or response.headers["Allow"]
        return response

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, exc: ClientDisconnect) -> JSONResponse:
        # Not a fault of ours; handled here, below Starlette's error middleware, because
        # that one logs (and re-raises) whatever reaches it. Nobody reads the answer.
        log.info("client disconnected during %s %s", request.method, request.url.path)
        return _render(request, 400, "the client disconnected before the request was complete")

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "pointer": "/" + "/".join(str(part) for part in error.get("loc", ())),
                "message": error.get("msg", ""),
            }
            for error in exc.errors()
        ]
        first = errors[0] if errors else {"pointer": "/", "message": "invalid request"}
        return _render(request, 422, f"{first['pointer']}: {first['message']}", errors=errors)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _render(request, 500, "an unexpected error occurred; it has been logged")
