"""The FastAPI application factory: kernel routes, every domain's router, problem details."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Query
from pydantic import BaseModel
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from policies import load_pack

from . import __version__
from .api import Reader, RFC3339Time, SessionDep
from .audit import query_audit
from .database import Database
from .errors import AppError
from .guards import RefuseNul
from .migrate import require_migrated
from .problems import PROBLEM_JSON, Problem, install_problem_handlers, problem_responses
from .runtime import tune_for_throughput
from .settings import Settings, get_settings
from .telemetry import instrument

__all__ = ["create_app"]


class AuditEntryRead(BaseModel):
    id: int
    at: dt.datetime
    actor: str
    actor_key_id: int | None
    action: str
    target: str
    summary: dict[str, Any]
    policy_pack: str | None


class AuditPage(BaseModel):
    items: list[AuditEntryRead]
    next_cursor: str | None


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    """Build the app; refuses an un-migrated database unless told to migrate it."""
    settings = settings or get_settings()
    database = database or Database(settings.database_url)
    require_migrated(database, auto=settings.auto_migrate)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tune_for_throughput()
        sweeper = None
        if settings.tracing.sweep_seconds > 0:
            from tracing.scheduler import start_sweeper

            sweeper = start_sweeper(
                database, app.state.pack, settings.tracing.sweep_seconds, app.state.exporter
            )
        yield
        if sweeper is not None:
            sweeper.shutdown(wait=True)
        if app.state.exporter is not None:
            app.state.exporter.shutdown()  # flush the queued transactions
        provider = getattr(app.state, "tracer_provider", None)
        if provider is not None:
            provider.shutdown()  # flush the last spans to the collector
        database.dispose()

    app = FastAPI(
        title="stockplane",
        version=__version__,
        description="Governance and observability for retail inventory integration.",
        lifespan=lifespan,
        responses=problem_responses(400, 401, 403, 404, 422, 500),
    )
    app.state.settings = settings
    app.state.database = database
    app.state.pack = load_pack(settings.policy_pack)
    app.state.exporter = None
    if settings.otlp_endpoint:
        from tracing.export import TransactionExporter

        app.state.exporter = TransactionExporter(settings.otlp_endpoint)
    install_problem_handlers(app)
    app.add_middleware(HeadAsGet)
    app.add_middleware(RefuseNul)
    _kernel_routes(app)

    from registry.router import router as registry_router  # the domains plug in here
    from tracing.router import router as tracing_router

    app.include_router(registry_router)
    app.include_router(tracing_router)
    _problem_openapi(app)
    instrument(app, database.engine)
    return app


def _kernel_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"], summary="The process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz", tags=["health"], summary="The database is reachable", responses=problem_responses(503)
    )
    def readyz(session: SessionDep) -> dict[str, str]:
        try:
            session.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error means not ready
            raise _Unavailable(f"database unreachable: {type(exc).__name__}") from None
        return {"status": "ready"}

    @app.get("/v1/audit", tags=["audit"], summary="The audit trail, newest first", response_model=AuditPage)
    def audit(
        session: SessionDep,
        _reader: Reader,
        actor: str | None = None,
        action: str | None = None,
        target: Annotated[
            str | None, Query(description="a target or its prefix, e.g. a contract name")
        ] = None,
        since: Annotated[RFC3339Time | None, Query(description="entries at or after (RFC 3339)")] = None,
        until: Annotated[RFC3339Time | None, Query(description="entries before (RFC 3339)")] = None,
        cursor: Annotated[
            str | None, Query(description="next_cursor of the previous page; empty for the first")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> AuditPage:
        after = _cursor(cursor)
        entries = query_audit(
            session,
            actor=actor,
            action=action,
            target=target,
            since=since,
            until=until,
            after_id=after,
            limit=limit + 1,
        )
        page = entries[:limit]
        next_cursor = str(page[-1].id) if len(entries) > limit else None
        return AuditPage(
            items=[AuditEntryRead.model_validate(e, from_attributes=True) for e in page],
            next_cursor=next_cursor,
        )


class HeadAsGet:
    """Answer HEAD like GET, without the body (RFC 9110 §9.3.2).

    FastAPI routes declare GET only (fastapi/fastapi#1773), so HEAD is routed as GET and
    the body dropped; headers, Content-Length included, stay those of the GET.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


class _Unavailable(AppError):
    status = 503
    problem = "unavailable"


class _BadCursor(AppError):
    status = 400
    problem = "invalid-cursor"


def _cursor(cursor: str | None) -> int | None:
    if not cursor:  # `cursor=` is the first page, as the schema allows
        return None
    # ASCII digits only (str.isdigit also takes "²"), and within the id column's range
    if not (cursor.isascii() and cursor.isdigit()) or int(cursor) > _MAX_ID:
        raise _BadCursor("cursor must be the next_cursor of a previous page")
    return int(cursor)


_MAX_ID = 2**31 - 1  # audit ids are INTEGER on PostgreSQL


def _query_parameters_not_null(operation: dict[str, Any]) -> None:
    """An optional query parameter is absent, never null (a query string cannot carry a
    null): drop the ``null`` branch pydantic gives ``X | None`` parameters."""
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        branches = schema.get("anyOf")
        if parameter.get("in") == "query" and branches and {"type": "null"} in branches:
            rest = [branch for branch in branches if branch != {"type": "null"}]
            annotations = {key: value for key, value in schema.items() if key != "anyOf"}
            parameter["schema"] = (
                {**rest[0], **annotations} if len(rest) == 1 else {**annotations, "anyOf": rest}
            )


def _problem_openapi(app: FastAPI) -> None:
    """Declare every error response as application/problem+json in /openapi.json."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = Problem.model_json_schema()
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                _query_parameters_not_null(operation)
                for status, response in operation.get("responses", {}).items():
                    if str(status)[:1] in "45":
                        response["content"] = {
                            PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
                        }
                    if str(status) == "401":
                        response["headers"] = {"WWW-Authenticate": _CHALLENGE}
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        if app.state.settings.anonymous_read:
            _anonymous_reads(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


_CHALLENGE = {
    "description": 'The scheme to authenticate with: `Bearer realm="stockplane"`',
    "schema": {"type": "string"},
}


def _anonymous_reads(schema: dict[str, Any]) -> None:
    """With anonymous reads on, a key is optional on GET: `{}` is the empty requirement."""
    for path in schema.get("paths", {}).values():
        operation = path.get("get", {})
        requirements = operation.get("security")
        if requirements and {} not in requirements:
            requirements.append({})
