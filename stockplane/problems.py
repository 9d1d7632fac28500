"""RFC 9457 problem details: one renderer for every error the API returns.

Domain errors (:class:`AppError`), Starlette's own 404 / 405 / 400, request validation
and anything unexpected all leave as ``application/problem+json``; never a stack trace.
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
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


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
        return response

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
