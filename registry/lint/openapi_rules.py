"""Lint rules for OpenAPI documents: security, identity, errors, pagination, bounds."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from stockplane.pointers import join_pointer

from ..diff.openapi.model import Operation, operations
from ..diff.openapi.versions import parse_version
from ..diff.schema_vocab import as_mapping
from .context import Hit, LintContext, check, subschemas

_VERSION_SEGMENT = re.compile(r"/v\d+(\.\d+)?(/|$)", re.IGNORECASE)
_VERSION_HEADERS = {"api-version", "x-api-version", "accept-version", "version"}
_PAGINATION = [
    "limit",
    "page",
    "page_size",
    "pagesize",
    "per_page",
    "size",
    "cursor",
    "offset",
    "page_token",
    "after",
    "before",
    "start",
]
_LIST_PROPERTIES = ("items", "data", "results", "content", "records", "entries", "list")
_BOUNDED_FORMATS = {"date", "date-time", "time", "uuid", "byte", "binary", "int32", "int64", "ipv4", "ipv6"}
_LOOPBACK = {"localhost", "127.0.0.1", "[::1]", "::1"}


def _operations(context: LintContext) -> Iterator[Operation]:
    for methods in operations(context.side).values():
        yield from methods.values()


def _security(context: LintContext, operation: Operation) -> Any:
    return operation.spec.get("security", context.data.get("security"))


@check("openapi-security-scheme-undefined")
def security_schemes_defined(context: LintContext) -> Iterator[Hit]:
    components = as_mapping(context.data.get("components"))
    schemes = set(components.get("securitySchemes") or {})
    places = [("/security", context.data.get("security"))]
    places += [(f"{op.pointer}/security", op.spec.get("security")) for op in _operations(context)]
    for pointer, requirements in places:
        for index, requirement in enumerate(requirements if isinstance(requirements, list) else []):
            for name in requirement if isinstance(requirement, dict) else {}:
                if name not in schemes:
                    yield (
                        f"{pointer}/{index}",
                        f"security scheme `{name}` is not defined in components.securitySchemes",
                    )


@check("openapi-operation-unsecured")
def operations_secured(context: LintContext) -> Iterator[Hit]:
    for operation in _operations(context):
        requirements = _security(context, operation)
        if not isinstance(requirements, list) or not requirements or {} in requirements:
            yield operation.pointer, f"{operation.label} has no security requirement"


def _operations_without(context: LintContext, field: str) -> Iterator[Hit]:
    """Operations whose ``field`` is missing or blank."""
    for operation in _operations(context):
        value = operation.spec.get(field)
        if not value or (isinstance(value, str) and not value.strip()):
            yield operation.pointer, f"{operation.label} has no {field}"


@check("openapi-operation-id-missing")
def operation_ids_present(context: LintContext) -> Iterator[Hit]:
    return _operations_without(context, "operationId")


@check("openapi-operation-id-duplicate")
def operation_ids_unique(context: LintContext) -> Iterator[Hit]:
    all_ops = list(_operations(context))
    counts = Counter(op.spec.get("operationId") for op in all_ops if op.spec.get("operationId"))
    for operation in all_ops:
        identifier = operation.spec.get("operationId")
        if identifier and counts[identifier] > 1:
            yield (
                f"{operation.pointer}/operationId",
                f"operationId `{identifier}` is used by {counts[identifier]} operations",
            )


@check("openapi-operation-summary-missing")
def summaries_present(context: LintContext) -> Iterator[Hit]:
    return _operations_without(context, "summary")


@check("openapi-operation-tags-missing")
def tags_present(context: LintContext) -> Iterator[Hit]:
    return _operations_without(context, "tags")


@check("openapi-error-not-problem-json")
def errors_are_problem_details(context: LintContext) -> Iterator[Hit]:
    for operation in _operations(context):
        for status, raw in (operation.spec.get("responses") or {}).items():
            if not (str(status)[:1] in "45" or str(status) == "default"):
                continue
            response, _ = context.deref(raw, "")
            content = response.get("content") if isinstance(response, dict) else None
            if (
                isinstance(content, dict)
                and content
                and not any(m.startswith("application/problem+") for m in content)
            ):
                pointer = join_pointer(f"{operation.pointer}/responses", status) + "/content"
                yield (
                    pointer,
                    f"{operation.label} response {status} should be application/problem+json (RFC 9457)",
                )


def _returns_list(context: LintContext, operation: Operation) -> bool:
    responses = operation.spec.get("responses") or {}
    for status in ("200", "206"):
        response, _ = context.deref(responses.get(status), "")
        content = response.get("content") if isinstance(response, dict) else None
        for media in (content or {}).values():
            schema, _ = context.deref(media.get("schema") if isinstance(media, dict) else None, "")
            if not isinstance(schema, dict):
                continue
            if schema.get("type") == "array":
                return True
            properties = as_mapping(schema.get("properties"))
            for name in _LIST_PROPERTIES:
                child, _ = context.deref(properties.get(name), "")
                if isinstance(child, dict) and child.get("type") == "array":
                    return True
    return False


@check("openapi-list-not-paginated")
def lists_paginated(context: LintContext) -> Iterator[Hit]:
    names = {name.lower() for name in context.option("parameters", _PAGINATION)}
    for operation in _operations(context):
        if operation.method != "get" or not _returns_list(context, operation):
            continue
        query = {p.name.lower() for p in operation.parameters.values() if p.location == "query"}
        if not query & names:
            yield (
                operation.pointer,
                f"{operation.label} returns a list but takes none of: {', '.join(sorted(names))}",
            )


@check("openapi-version-missing")
def version_in_path_or_header(context: LintContext) -> Iterator[Hit]:
    servers = [s.get("url", "") for s in context.data.get("servers") or [] if isinstance(s, dict)]
    if any(_VERSION_SEGMENT.search(urlsplit(str(url)).path + "/") for url in servers):
        return
    all_ops = list(_operations(context))
    if all_ops and all(_VERSION_SEGMENT.search(op.path) for op in all_ops):
        return
    headers = {
        p.name.lower() for op in all_ops for p in op.parameters.values() if p.location in ("header", "query")
    }
    if headers & _VERSION_HEADERS:
        return
    yield (
        "/servers" if servers else "/paths",
        "put the major version in the path (e.g. /v1) or accept a version header",
    )


@check("openapi-server-not-https")
def servers_use_https(context: LintContext) -> Iterator[Hit]:
    for index, server in enumerate(context.data.get("servers") or []):
        url = str(server.get("url", "")) if isinstance(server, dict) else ""
        parts = urlsplit(url)
        if parts.scheme == "http" and (parts.hostname or "") not in _LOOPBACK:
            yield f"/servers/{index}/url", f"server {url} uses plain http; use https"


def _request_schemas(context: LintContext) -> Iterator[tuple[Any, str]]:
    for operation in _operations(context):
        for parameter in operation.parameters.values():
            if "schema" in parameter.spec:
                yield parameter.spec["schema"], f"{parameter.pointer}/schema"
        body, body_pointer = context.deref(
            operation.spec.get("requestBody"), f"{operation.pointer}/requestBody"
        )
        content = body.get("content") if isinstance(body, dict) else None
        for media, spec in (content or {}).items():
            if isinstance(spec, dict) and "schema" in spec:
                yield spec["schema"], join_pointer(f"{body_pointer}/content", media) + "/schema"


def _request_subschemas(context: LintContext) -> Iterator[tuple[dict[str, Any], str]]:
    seen: set[str] = set()
    for schema, pointer in _request_schemas(context):
        for node, at, _ in subschemas(context, schema, pointer, seen):
            if node.get("readOnly") is not True:
                yield node, at


@check("openapi-request-string-unbounded")
def request_strings_bounded(context: LintContext) -> Iterator[Hit]:
    for node, at in _request_subschemas(context):
        types = node.get("type")
        is_string = types == "string" or (isinstance(types, list) and "string" in types)
        bounded = (
            "maxLength" in node or "enum" in node or "const" in node or node.get("format") in _BOUNDED_FORMATS
        )
        if is_string and not bounded:
            yield at, "request string has no maxLength"


@check("openapi-request-array-unbounded")
def request_arrays_bounded(context: LintContext) -> Iterator[Hit]:
    for node, at in _request_subschemas(context):
        if node.get("type") == "array" and "maxItems" not in node:
            yield at, "request array has no maxItems"


@check("openapi-idempotency-key-missing")
def idempotency_keys(context: LintContext) -> Iterator[Hit]:
    pattern = re.compile(context.option("pattern", r"order|reserv|payment|transfer"), re.IGNORECASE)
    header = str(context.option("header", "Idempotency-Key")).lower()
    for operation in _operations(context):
        if operation.method not in ("post", "put", "patch"):
            continue
        if not (pattern.search(operation.path) or pattern.search(str(operation.spec.get("operationId", "")))):
            continue
        headers = {p.name.lower() for p in operation.parameters.values() if p.location == "header"}
        if header not in headers:
            yield (
                operation.pointer,
                f"{operation.label} creates orders or reservations but takes no {context.option('header', 'Idempotency-Key')} header",
            )


@check("openapi-deprecated-without-sunset")
def deprecated_with_sunset(context: LintContext) -> Iterator[Hit]:
    for operation in _operations(context):
        if operation.deprecated and "x-sunset" not in operation.spec:
            yield operation.pointer, f"{operation.label} is deprecated without an x-sunset date"


@check("openapi-info-version-not-semver")
def version_is_semver(context: LintContext) -> Iterator[Hit]:
    info = as_mapping(context.data.get("info"))
    version = info.get("version")
    if version is not None and parse_version(str(version)) is None:
        yield "/info/version", f"info.version {version!r} is not a semantic version"
