"""Breaking changes between two OpenAPI 3.x documents.

The rule of thumb: the new API must accept every request the old one accepted (so the
schema engine reads requests with *old* as writer and *new* as reader), and must send
only responses an old client can read (*new* writes, *old* reads).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stockplane.pointers import join_pointer

from ..catalogue import RULES
from ..compatibility import Side, compare_schemas, to_findings
from ..findings import Finding, Location
from ..identity import pair_key
from ..schema_compat import Incompatibility, Policy, SchemaReader
from .deprecation import parse_sunset, removal_rule
from .matching import body_context, match_media, match_status, parameter_schema, properties_of
from .model import STABILITY_LEVELS, Operation, Parameter, operations
from .security import security_changes, server_changes

__all__ = ["OpenApiOptions", "diff_openapi"]

_DEFAULT_STYLE = {"query": "form", "cookie": "form", "path": "simple", "header": "simple"}


@dataclass(frozen=True)
class OpenApiOptions:
    policy: Policy = "lenient"
    today: dt.date | None = None
    deprecation_days: int = 90
    budget: int = 300_000
    notice_by_stability: Mapping[str, int] = field(default_factory=dict)

    def notice_days(self, stability: str | None) -> int:
        """Minimum deprecation notice for an item of this ``x-stability-level``."""
        return self.notice_by_stability.get(stability or "stable", self.deprecation_days)


def diff_openapi(old: Side, new: Side, options: OpenApiOptions | None = None) -> list[Finding]:
    """Every finding between two OpenAPI documents, in document order."""
    return _OpenApiDiff(old, new, options or OpenApiOptions()).run()


class _OpenApiDiff:
    def __init__(self, old: Side, new: Side, options: OpenApiOptions) -> None:
        self.old = old
        self.new = new
        self.options = options
        self.today = options.today or dt.date.today()
        self.findings: list[Finding] = []
        # one engine per direction (requests: old writes; responses: new writes), shared by
        # every operation so each pair of component schemas is compared once
        self._readers: dict[bool, SchemaReader] = {}
        self._walked: dict[str, set[int]] = {}  # per side: pair keys of schemas walked

    # -- helpers -----------------------------------------------------------------------------

    def add(self, rule: str, message: str, pointer: str, *, old: Any = None, new: Any = None) -> None:
        """Record a finding, located in the new document.

        A removal keeps its old pointer and points at the line of the deepest part of it
        that the new document still has, so CI annotations land in a real file.
        """
        document = self.new.document
        location = Location(pointer, document.source, document.line_of(pointer))
        self.findings.append(Finding(rule, RULES[rule].severity, message, location, old, new))

    def schemas(self, writer: Side, w: Any, wp: str, reader: Side, r: Any, rp: str) -> list[Incompatibility]:
        engine = self._readers.get(writer is self.old)
        if engine is None:
            engine = SchemaReader(
                writer.resolver,
                reader.resolver,
                policy=self.options.policy,
                budget=self.options.budget,
                absent_flag="readOnly" if writer is self.old else "writeOnly",
            )
            self._readers[writer is self.old] = engine
        return compare_schemas(
            writer,
            w,
            wp,
            reader,
            r,
            rp,
            policy=self.options.policy,
            budget=self.options.budget,
            engine=engine,
        )

    # -- the walk ------------------------------------------------------------------------------

    def run(self) -> list[Finding]:
        old_ops, new_ops = operations(self.old), operations(self.new)
        for key, old_methods in old_ops.items():
            new_methods = new_ops.get(key)
            if new_methods is None:
                self._path_removed(old_methods)
                continue
            self._path_renamed(old_methods, new_methods)
            for method, old_op in old_methods.items():
                new_op = new_methods.get(method)
                if old_op.skipped:
                    continue
                if new_op is None:
                    rule = removal_rule(old_op.spec, "api", self.today)
                    self.add(rule, f"{old_op.label}: operation removed", old_op.pointer)
                else:
                    self._operation(old_op, new_op)
            for method, new_op in new_methods.items():
                if method not in old_methods:
                    self.add("endpoint-added", f"{new_op.label}: operation added", new_op.pointer)
        for key, new_methods in new_ops.items():
            if key not in old_ops:
                first = next(iter(new_methods.values()), None)
                if first is not None:
                    self.add(
                        "api-path-added", f"{first.path}: path added", join_pointer("/paths", first.path)
                    )
        self._servers()
        return self.findings

    def _path_removed(self, methods: dict[str, Operation]) -> None:
        live = [op for op in methods.values() if not op.skipped]
        if not live:
            return
        path = live[0].path
        rules = {removal_rule(op.spec, "api-path", self.today) for op in live}
        for rule in (
            "api-path-removed-without-deprecation",
            "api-path-removed-before-sunset",
            "api-path-removed",
        ):
            if rule in rules:
                self.add(rule, f"{path}: path removed", join_pointer("/paths", path))
                return

    def _path_renamed(self, old_methods: dict[str, Operation], new_methods: dict[str, Operation]) -> None:
        old_path = next(iter(old_methods.values())).path if old_methods else None
        new_path = next(iter(new_methods.values())).path if new_methods else None
        if old_path and new_path and old_path != new_path:
            self.add(
                "api-path-parameter-renamed",
                f"{old_path} is now {new_path}",
                join_pointer("/paths", new_path),
                old=old_path,
                new=new_path,
            )

    def _operation(self, old: Operation, new: Operation) -> None:
        if new.skipped:
            return
        self._deprecation(old.spec, new.spec, "api", new.label, new.pointer, new.stability)
        self._stability(old, new)
        old_id, new_id = old.spec.get("operationId"), new.spec.get("operationId")
        if old_id and not new_id:
            self.add(
                "api-operation-id-removed",
                f"{new.label}: operationId {old_id!r} removed",
                new.pointer,
                old=old_id,
            )
        elif old_id and new_id != old_id:
            self.add(
                "api-operation-id-changed",
                f"{new.label}: operationId {old_id!r} became {new_id!r}",
                f"{new.pointer}/operationId",
                old=old_id,
                new=new_id,
            )
        for tag in old.spec.get("tags") or []:
            if tag not in (new.spec.get("tags") or []):
                self.add("api-tag-removed", f"{new.label}: tag {tag!r} removed", new.pointer, old=tag)
        self._parameters(old, new)
        self._request_body(old, new)
        self._responses(old, new)
        self._security(old, new)

    def _deprecation(
        self,
        old: dict[str, Any],
        new: dict[str, Any],
        prefix: str,
        label: str,
        pointer: str,
        stability: str | None,
    ) -> None:
        """Deprecation of an operation (``prefix`` "api") or parameter ("request-parameter")."""
        was, now = old.get("deprecated") is True, new.get("deprecated") is True
        if now and not was:
            self.add(f"{prefix}-deprecated", f"{label}: deprecated", pointer)
            self._sunset_notice(new, prefix, label, pointer, stability)
        elif was and not now:
            self.add(f"{prefix}-reactivated", f"{label}: no longer deprecated", pointer)
        elif now and new.get("x-sunset") != old.get("x-sunset"):
            if "x-sunset" in old and "x-sunset" not in new:
                self.add(
                    f"{prefix}-sunset-deleted",
                    f"{label}: the x-sunset date of a deprecated item was deleted",
                    pointer,
                    old=old["x-sunset"],
                )
            else:
                self._sunset_notice(new, prefix, label, pointer, stability)

    def _sunset_notice(
        self, spec: dict[str, Any], prefix: str, label: str, pointer: str, stability: str | None
    ) -> None:
        try:
            sunset = parse_sunset(spec.get("x-sunset"))
        except ValueError as exc:
            self.add(
                f"{prefix}-invalid-sunset-date",
                f"{label}: {exc}",
                f"{pointer}/x-sunset",
                new=spec.get("x-sunset"),
            )
            return
        if sunset is None:
            self.add(
                f"{prefix}-deprecated-without-sunset",
                f"{label}: deprecated without an x-sunset date",
                pointer,
            )
            return
        notice = (sunset - self.today).days
        required = self.options.notice_days(stability)
        if notice < required:
            self.add(
                f"{prefix}-sunset-date-too-small",
                f"{label}: sunset {sunset.isoformat()} gives {notice} days' notice, policy requires {required}",
                f"{pointer}/x-sunset",
                new=sunset.isoformat(),
            )

    def _stability(self, old: Operation, new: Operation) -> None:
        old_level, new_level = old.stability, new.stability
        for level, op in ((old_level, old), (new_level, new)):
            if level is not None and level not in STABILITY_LEVELS:
                self.add(
                    "api-invalid-stability-level",
                    f"{op.label}: x-stability-level {level!r} is not one of {', '.join(STABILITY_LEVELS)}",
                    new.pointer,
                    new=level,
                )
                return
        if old_level and new_level and STABILITY_LEVELS.index(new_level) < STABILITY_LEVELS.index(old_level):
            self.add(
                "api-stability-decreased",
                f"{new.label}: stability went from {old_level} to {new_level}",
                new.pointer,
                old=old_level,
                new=new_level,
            )

    # -- parameters ------------------------------------------------------------------------------

    def _parameters(self, old: Operation, new: Operation) -> None:
        for key, old_param in old.parameters.items():
            new_param = new.parameters.get(key)
            if new_param is None:
                rule = removal_rule(old_param.spec, "request-parameter", self.today)
                self.add(
                    rule,
                    f"{new.label}: {old_param.location} parameter `{old_param.name}` removed",
                    old_param.pointer,
                )
            else:
                self._parameter(new, old_param, new_param)
        for key, new_param in new.parameters.items():
            if key in old.parameters:
                continue
            required = new_param.spec.get("required") is True or new_param.location == "path"
            rule = "new-required-request-parameter" if required else "new-optional-request-parameter"
            kind = "required" if required else "optional"
            self.add(
                rule,
                f"{new.label}: new {kind} {new_param.location} parameter `{new_param.name}`",
                new_param.pointer,
            )

    def _parameter(self, op: Operation, old: Parameter, new: Parameter) -> None:
        label = f"{op.label}: {new.location} parameter `{new.name}`"
        self._deprecation(old.spec, new.spec, "request-parameter", label, new.pointer, op.stability)
        self._default_value(old, new, label)
        old_required = old.spec.get("required") is True or old.location == "path"
        new_required = new.spec.get("required") is True or new.location == "path"
        if new_required and not old_required:
            self.add("request-parameter-became-required", f"{label} became required", new.pointer)
        elif old_required and not new_required:
            self.add("request-parameter-became-optional", f"{label} became optional", new.pointer)
        default_style = _DEFAULT_STYLE.get(new.location, "form")
        old_style, new_style = old.spec.get("style", default_style), new.spec.get("style", default_style)
        if old_style != new_style:
            self.add(
                "request-parameter-style-changed",
                f"{label}: style {old_style} became {new_style}",
                f"{new.pointer}/style",
                old=old_style,
                new=new_style,
            )
        old_explode = old.spec.get("explode", old_style == "form")
        new_explode = new.spec.get("explode", new_style == "form")
        if old_explode != new_explode:
            self.add(
                "request-parameter-explode-changed",
                f"{label}: explode {old_explode} became {new_explode}",
                f"{new.pointer}/explode",
                old=old_explode,
                new=new_explode,
            )
        if old.spec.get("allowReserved") is True and new.spec.get("allowReserved") is not True:
            self.add(
                "request-parameter-allow-reserved-removed",
                f"{label} no longer allows reserved characters",
                new.pointer,
            )
        old_schema, old_sp = parameter_schema(old)
        new_schema, new_sp = parameter_schema(new)
        if old_schema is None and new_schema is None:
            return
        old_media = next(iter(old.spec.get("content") or {}), None)
        new_media = next(iter(new.spec.get("content") or {}), None)
        if old_media != new_media and old_media and new_media:
            self.add(
                "request-parameter-content-type-changed",
                f"{label}: content {old_media} became {new_media}",
                f"{new.pointer}/content",
                old=old_media,
                new=new_media,
            )
        issues = self.schemas(
            self.old,
            old_schema if old_schema is not None else True,
            old_sp,
            self.new,
            new_schema if new_schema is not None else True,
            new_sp,
        )
        self.findings += to_findings(
            issues,
            new=self.new,
            reader_is_new=True,
            context_of=lambda _: "request-parameter",
            prefix=f"{op.label}: ",
            name=_named(new.name),
        )

    def _default_value(self, old: Parameter, new: Parameter, label: str) -> None:
        """Clients that omit an optional parameter get its default: changing it changes them."""
        if new.spec.get("required") is True or new.location == "path":
            return
        old_schema, _ = self.old.resolver.deref(old.spec.get("schema"))
        new_schema, _ = self.new.resolver.deref(new.spec.get("schema"))
        missing = object()
        old_default = old_schema.get("default", missing) if isinstance(old_schema, dict) else missing
        new_default = new_schema.get("default", missing) if isinstance(new_schema, dict) else missing
        if old_default == new_default:  # includes both missing
            return
        before = "none" if old_default is missing else repr(old_default)
        after = "none" if new_default is missing else repr(new_default)
        self.add(
            "request-parameter-default-value-changed",
            f"{label}: default {before} became {after}",
            new.pointer,
            old=None if old_default is missing else old_default,
            new=None if new_default is missing else new_default,
        )

    # -- request bodies ----------------------------------------------------------------------------

    def _request_body(self, old: Operation, new: Operation) -> None:
        old_body, _ = self.old.resolver.deref(old.spec.get("requestBody"))
        new_body, _ = self.new.resolver.deref(new.spec.get("requestBody"))
        pointer = f"{new.pointer}/requestBody"
        if not isinstance(old_body, dict):
            if isinstance(new_body, dict):
                required = new_body.get("required") is True
                rule = "new-required-request-body" if required else "new-optional-request-body"
                self.add(
                    rule,
                    f"{new.label}: request body added ({'required' if required else 'optional'})",
                    pointer,
                )
            return
        if not isinstance(new_body, dict):
            self.add(
                "request-body-removed",
                f"{new.label}: request body removed",
                f"{old.pointer}/requestBody",
            )
            return
        if new_body.get("required") is True and old_body.get("required") is not True:
            self.add("request-body-became-required", f"{new.label}: request body became required", pointer)
        elif old_body.get("required") is True and new_body.get("required") is not True:
            self.add("request-body-became-optional", f"{new.label}: request body became optional", pointer)
        old_content = old_body.get("content") or {}
        new_content = new_body.get("content") or {}
        self._content("request", new.label, old_content, f"{old.pointer}/requestBody", new_content, pointer)

    # -- responses ------------------------------------------------------------------------------------

    def _responses(self, old: Operation, new: Operation) -> None:
        old_responses = old.spec.get("responses") or {}
        new_responses = new.spec.get("responses") or {}
        for status, old_response in old_responses.items():
            match = match_status(str(status), new_responses)
            if match is None:
                success = str(status).startswith("2")
                rule = "response-success-status-removed" if success else "response-non-success-status-removed"
                self.add(
                    rule,
                    f"{new.label}: response {status} removed",
                    join_pointer(f"{old.pointer}/responses", status),
                    old=str(status),
                )
                continue
            self._response(old, new, str(status), old_response, match, new_responses[match])
        for status in new_responses:
            if match_status(str(status), old_responses) is None:
                rule = (
                    "response-success-status-added"
                    if str(status).startswith("2")
                    else "response-non-success-status-added"
                )
                self.add(
                    rule,
                    f"{new.label}: response {status} added",
                    join_pointer(f"{new.pointer}/responses", status),
                    new=str(status),
                )

    def _response(
        self, old_op: Operation, op: Operation, status: str, old_raw: Any, new_status: str, new_raw: Any
    ) -> None:
        old_pointer = join_pointer(f"{old_op.pointer}/responses", status)
        old_response, _ = self.old.resolver.deref(old_raw)
        new_response, _ = self.new.resolver.deref(new_raw)
        if not isinstance(old_response, dict) or not isinstance(new_response, dict):
            return
        pointer = join_pointer(f"{op.pointer}/responses", new_status)
        label = f"{op.label}: response {status}"
        self._response_headers(op, label, old_response, new_response, pointer)
        old_content = old_response.get("content") or {}
        new_content = new_response.get("content") or {}
        if old_content and not new_content:
            self.add("response-body-removed", f"{label}: body removed", pointer)
            return
        self._content("response", label, old_content, old_pointer, new_content, pointer)

    def _response_headers(
        self, op: Operation, label: str, old: dict[str, Any], new: dict[str, Any], pointer: str
    ) -> None:
        new_headers = {name.lower(): (name, spec) for name, spec in (new.get("headers") or {}).items()}
        for name, raw in (old.get("headers") or {}).items():
            old_header, _ = self.old.resolver.deref(raw)
            if not isinstance(old_header, dict):
                continue
            found = new_headers.get(name.lower())
            if found is None:
                rule = (
                    "response-required-header-removed"
                    if old_header.get("required") is True
                    else "response-optional-header-removed"
                )
                self.add(rule, f"{label}: header {name} removed", f"{pointer}/headers", old=name)
                continue
            new_name, new_raw = found
            new_header, _ = self.new.resolver.deref(new_raw)
            if not isinstance(new_header, dict):
                continue
            header_pointer = join_pointer(f"{pointer}/headers", new_name)
            if old_header.get("required") is True and new_header.get("required") is not True:
                self.add(
                    "response-header-became-optional",
                    f"{label}: header {name} became optional",
                    header_pointer,
                )
            issues = self.schemas(
                self.new,
                new_header.get("schema", True),
                f"{header_pointer}/schema",
                self.old,
                old_header.get("schema", True),
                f"{header_pointer}/schema",
            )
            self.findings += to_findings(
                issues,
                new=self.new,
                reader_is_new=False,
                context_of=lambda _: "response-header",
                prefix=f"{label}: ",
                name=_named(new_name),
            )

    def _content(
        self, side: str, label: str, old: dict[str, Any], old_pointer: str, new: dict[str, Any], pointer: str
    ) -> None:
        """Media types of a request body or response: removed, added, and their schemas."""
        request = side == "request"
        removed, added = (
            ("request-body-media-type-removed", "request-body-media-type-added")
            if request
            else ("response-media-type-removed", "response-media-type-added")
        )
        for media, old_media in old.items():
            # a response may narrow `application/*` to `application/json`; a request may widen
            match = match_media(media, new, exact_or_narrower=not request)
            if match is None:
                self.add(
                    removed, f"{label}: {side} media type {media} removed", f"{pointer}/content", old=media
                )
                continue
            new_media = new[match]
            if isinstance(old_media, dict) and isinstance(new_media, dict):
                old_sp = join_pointer(f"{old_pointer}/content", media) + "/schema"
                new_sp = join_pointer(f"{pointer}/content", match) + "/schema"
                self._media_schemas(side, label, old_media, old_sp, new_media, new_sp)
        for media in new:
            if match_media(media, old) is None:
                self.add(
                    added,
                    f"{label}: {side} media type {media} added",
                    join_pointer(f"{pointer}/content", media),
                )

    def _media_schemas(
        self,
        side: str,
        label: str,
        old_media: dict[str, Any],
        old_sp: str,
        new_media: dict[str, Any],
        new_sp: str,
    ) -> None:
        """Compare one media type's schemas: old clients write requests, read responses."""
        request = side == "request"
        old_schema, new_schema = old_media.get("schema", True), new_media.get("schema", True)
        if request:
            issues = self.schemas(self.old, old_schema, old_sp, self.new, new_schema, new_sp)
        else:
            issues = self.schemas(self.new, new_schema, new_sp, self.old, old_schema, old_sp)
        self.findings += to_findings(
            issues, new=self.new, reader_is_new=request, context_of=body_context(side), prefix=f"{label}: "
        )
        self._removed_properties(side, label, old_media.get("schema"), new_media.get("schema"), new_sp)

    def _removed_properties(
        self, side: str, label: str, old_schema: Any, new_schema: Any, pointer: str
    ) -> None:
        """Properties that vanished: fine once deprecated and past sunset, a finding otherwise."""
        seen = self._walked.setdefault(
            side, set()
        )  # shared: a removed property is reported once, where first reached
        stack: list[tuple[Any, Any, str]] = [(old_schema, new_schema, "")]
        while stack:
            old_node, new_node, path = stack.pop()
            old_node, _ = self.old.resolver.deref(old_node)
            new_node, _ = self.new.resolver.deref(new_node)
            if (
                not isinstance(old_node, dict)
                or not isinstance(new_node, dict)
                or pair_key(old_node, new_node) in seen
            ):
                continue
            seen.add(pair_key(old_node, new_node))
            old_props = properties_of(old_node, self.old)
            new_props = properties_of(new_node, self.new)
            for name, old_prop in old_props.items():
                dotted = f"{path}.{name}" if path else name
                if name in new_props:
                    stack.append((old_prop, new_props[name], dotted))
                    continue
                old_prop, _ = self.old.resolver.deref(old_prop)
                if not isinstance(old_prop, dict):
                    continue
                rule = removal_rule(old_prop, f"{side}-property", self.today)
                if rule in RULES:
                    self.add(rule, f"{label}: {side} property `{dotted}` removed", pointer, old=dotted)
            for key in ("items",):
                if isinstance(old_node.get(key), dict) and isinstance(new_node.get(key), dict):
                    stack.append((old_node[key], new_node[key], f"{path}[]"))

    # -- security and servers -------------------------------------------------------------------

    def _security(self, old: Operation, new: Operation) -> None:
        pointer = f"{new.pointer}/security" if "security" in new.spec else "/security"
        old_raw = old.spec.get("security", self.old.document.data.get("security"))
        new_raw = new.spec.get("security", self.new.document.data.get("security"))
        for change in security_changes(old_raw, new_raw):
            self.add(change.rule, f"{new.label}: {change.message}", pointer, old=change.old, new=change.new)

    def _servers(self) -> None:
        for change in server_changes(self.old.document.data, self.new.document.data):
            self.add(change.rule, change.message, "/servers", old=change.old, new=change.new)


def _named(name: str) -> Callable[[Incompatibility], str]:
    """Name a finding by a header or parameter name followed by the instance path."""
    return lambda issue: name + issue.path
