"""The catalogue of every rule the engine can report: id, severity, meaning and an example.

Schema rules are generated: each kind of schema incompatibility (``SCHEMA_KINDS``) is
named once per context (an event schema, a request body, a response header ...) and per
direction. A request is read by the *new* API, so its rules describe what the new version
narrowed; a response is read by the *old* client, so its rules describe what the new
version widened. ``docs/rules.md`` is generated from this module and a test keeps the two
in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from .findings import Severity

__all__ = ["RULES", "SCHEMA_CONTEXTS", "SCHEMA_KINDS", "Rule", "SchemaKind", "schema_rule_id"]

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    example: str
    group: str


@dataclass(frozen=True, slots=True)
class SchemaKind:
    """One kind of incompatibility, named for each direction.

    ``new`` / ``old`` are id templates (``{ctx}`` is the context) for when the reader is
    the new or the old version; the summaries and examples read the same way.
    """

    new: str
    old: str
    summary_new: str
    summary_old: str
    example_new: str
    example_old: str


def _kind(new: str, old: str, what_new: str, what_old: str, ex_new: str, ex_old: str) -> SchemaKind:
    return SchemaKind(f"{{ctx}}-{new}", f"{{ctx}}-{old}", what_new, what_old, ex_new, ex_old)


# fmt: off
SCHEMA_KINDS: dict[str, SchemaKind] = {
    "type": _kind("type-changed", "type-changed", "the type no longer accepts a type the old version allowed", "the new version sends a type the old reader does not accept", "`type: integer` → `type: string`", "`type: integer` → `type: number`"),
    "nullable": _kind("became-not-nullable", "became-nullable", "null is no longer accepted", "null may now be sent", "`type: [string, null]` → `type: string`", "`type: string` → `type: [string, null]`"),
    "enum": _kind("enum-value-removed", "enum-value-added", "an enum value was removed", "an enum value was added", "`enum: [a, b]` → `enum: [a]`", "`enum: [a]` → `enum: [a, b]`"),
    "enum-set": _kind("enum-added", "enum-removed", "an enum now restricts a value that was free", "the enum restricting a value was removed", "`type: string` → `enum: [a, b]`", "`enum: [a, b]` → `type: string`"),
    "const": _kind("const-changed", "const-changed", "the constant value changed", "the constant value changed", "`const: a` → `const: b`", "`const: a` → `const: b`"),
    "const-set": _kind("const-added", "const-removed", "a constant now fixes a value that was free", "the constant fixing a value was removed", "`type: string` → `const: a`", "`const: a` → `type: string`"),
    "minimum": _kind("min-increased", "min-decreased", "the minimum was raised or set", "the minimum was lowered or removed", "`minimum: 1` → `minimum: 5`", "`minimum: 5` → `minimum: 1`"),
    "maximum": _kind("max-decreased", "max-increased", "the maximum was lowered or set", "the maximum was raised or removed", "`maximum: 10` → `maximum: 5`", "`maximum: 5` → `maximum: 10`"),
    "multiple-of": _kind("multiple-of-changed", "multiple-of-changed", "multipleOf no longer divides the old step", "multipleOf no longer divides the old step", "`multipleOf: 5` → `multipleOf: 3`", "`multipleOf: 10` → `multipleOf: 5`"),
    "min-length": _kind("min-length-increased", "min-length-decreased", "minLength was raised or set", "minLength was lowered or removed", "`minLength: 1` → `minLength: 3`", "`minLength: 3` → `minLength: 1`"),
    "max-length": _kind("max-length-decreased", "max-length-increased", "maxLength was lowered or set", "maxLength was raised or removed", "`maxLength: 20` → `maxLength: 10`", "`maxLength: 10` → `maxLength: 20`"),
    "min-items": _kind("min-items-increased", "min-items-decreased", "minItems was raised or set", "minItems was lowered or removed", "`minItems: 0` → `minItems: 1`", "`minItems: 1` → `minItems: 0`"),
    "max-items": _kind("max-items-decreased", "max-items-increased", "maxItems was lowered or set", "maxItems was raised or removed", "`maxItems: 100` → `maxItems: 10`", "`maxItems: 10` → `maxItems: 100`"),
    "min-properties": _kind("min-properties-increased", "min-properties-decreased", "minProperties was raised or set", "minProperties was lowered or removed", "`minProperties: 0` → `minProperties: 1`", "`minProperties: 1` → `minProperties: 0`"),
    "max-properties": _kind("max-properties-decreased", "max-properties-increased", "maxProperties was lowered or set", "maxProperties was raised or removed", "`maxProperties: 10` → `maxProperties: 5`", "`maxProperties: 5` → `maxProperties: 10`"),
    "min-contains": _kind("min-contains-increased", "min-contains-decreased", "minContains was raised or set", "minContains was lowered or removed", "`minContains: 1` → `minContains: 2`", "`minContains: 2` → `minContains: 1`"),
    "max-contains": _kind("max-contains-decreased", "max-contains-increased", "maxContains was lowered or set", "maxContains was raised or removed", "`maxContains: 3` → `maxContains: 1`", "`maxContains: 1` → `maxContains: 3`"),
    "pattern": _kind("pattern-changed", "pattern-changed", "the pattern changed (regular expressions cannot be compared, so any change is reported)", "the pattern changed (regular expressions cannot be compared, so any change is reported)", "`pattern: ^[a-z]+$` → `pattern: ^[a-z]{2}$`", "`pattern: ^[a-z]{2}$` → `pattern: ^[a-z]+$`"),
    "pattern-set": _kind("pattern-added", "pattern-removed", "a pattern now restricts a string that was free", "the pattern restricting a string was removed", "`type: string` → `pattern: ^[A-Z]{3}$`", "`pattern: ^[A-Z]{3}$` → `type: string`"),
    "format": _kind("format-changed", "format-changed", "the format changed to one that does not contain the old", "the format changed to one the old reader does not accept", "`format: date-time` → `format: date`", "`format: int32` → `format: int64`"),
    "format-set": _kind("format-added", "format-removed", "a format now restricts a string that was free", "the format restricting a value was removed", "`type: string` → `format: uuid`", "`format: uuid` → `type: string`"),
    "content-encoding": _kind("content-encoding-changed", "content-encoding-changed", "contentEncoding changed or was set", "contentEncoding changed or was removed", "`contentEncoding: base64` → `contentEncoding: base32`", "`contentEncoding: base64` → (none)"),
    "content-media-type": _kind("content-media-type-changed", "content-media-type-changed", "contentMediaType changed or was set", "contentMediaType changed or was removed", "`contentMediaType: image/png` → `image/jpeg`", "`contentMediaType: image/png` → (none)"),
    "unique-items": _kind("unique-items-enabled", "unique-items-disabled", "items must now be unique", "items no longer have to be unique", "(none) → `uniqueItems: true`", "`uniqueItems: true` → (none)"),
    "contains": _kind("contains-added", "contains-removed", "the array must now contain a matching item", "the array no longer has to contain a matching item", "(none) → `contains: {type: string}`", "`contains: {type: string}` → (none)"),
    "tuple-item": _kind("tuple-item-removed", "tuple-item-added", "a position of a tuple is no longer accepted", "a tuple position the old reader rejects may now be sent", "`prefixItems: [a, b]`, `items: false` → `prefixItems: [a]`, `items: false`", "`prefixItems: [a]`, `items: false` → `prefixItems: [a, b]`"),
    "property-not-accepted": SchemaKind("{side}-property-removed", "{side}-property-added", "a property of the old version is no longer accepted", "a property the old reader rejects may now be sent", "`properties: {a, b}`, `additionalProperties: false` → `properties: {a}`", "`properties: {a}`, `additionalProperties: false` → `properties: {a, b}`"),
    "false": _kind("disallowed", "allowed", "a value is now forbidden (`false` schema)", "a value the old reader forbids may now be sent", "`b: {type: string}` → `b: false`", "`b: false` → `b: {type: string}`"),
    "additional-properties": _kind("additional-properties-disallowed", "additional-properties-allowed", "undeclared properties are no longer accepted", "undeclared properties the old reader rejects may now be sent", "(none) → `additionalProperties: false`", "`additionalProperties: false` → (none)"),
    "became-required": SchemaKind("{side}-property-became-required", "{side}-property-became-optional", "an optional property became required", "a required property became optional, so it may be missing", "`required: []` → `required: [sku]`", "`required: [sku]` → `required: []`"),
    "required-added": SchemaKind("new-required-{side}-property", "{side}-required-property-removed", "a new required property was added", "a required property was removed", "(none) → `required: [sku]` with `sku` new", "`required: [sku]` → (property gone)"),
    "dependency": _kind("dependency-added", "dependency-removed", "a property now depends on others being present", "a dependency between properties was removed", "(none) → `dependentRequired: {a: [b]}`", "`dependentRequired: {a: [b]}` → (none)"),
    "property-names": _kind("property-names-added", "property-names-removed", "property names are now restricted", "the restriction on property names was removed", "(none) → `propertyNames: {pattern: ^x-}`", "`propertyNames: {pattern: ^x-}` → (none)"),
    "any-of": _kind("any-of-removed", "any-of-added", "an anyOf branch that old values need was removed or narrowed", "an anyOf branch the old reader lacks was added or widened", "`anyOf: [string, integer]` → `anyOf: [string]`", "`anyOf: [string]` → `anyOf: [string, integer]`"),
    "one-of": _kind("one-of-removed", "one-of-added", "a oneOf branch that old values need was removed or narrowed", "a oneOf branch the old reader lacks was added or widened", "`oneOf: [Cat, Dog]` → `oneOf: [Cat]`", "`oneOf: [Cat]` → `oneOf: [Cat, Dog]`"),
    "not": _kind("not-changed", "not-changed", "the `not` exclusion now rejects values it allowed", "the `not` exclusion no longer rejects values the old reader rejects", "`not: {maxLength: 5}` → `not: {maxLength: 10}`", "`not: {maxLength: 10}` → `not: {maxLength: 5}`"),
    "if": _kind("if-changed", "if-changed", "the `if` of a conditional changed, so then/else apply to different values", "the `if` of a conditional changed, so then/else apply to different values", "`if: {properties: {case: {const: a}}}` → `const: b`", "`if: {properties: {case: {const: a}}}` → `const: b`"),
}
# fmt: on

# context id -> (label in messages, reader is new, reader is old)
SCHEMA_CONTEXTS: dict[str, tuple[str, bool, bool]] = {
    "schema": ("event schema", True, True),
    "request-body": ("request body", True, False),
    "request-property": ("request body property", True, False),
    "request-parameter": ("request parameter", True, False),
    "response-body": ("response body", False, True),
    "response-property": ("response property", False, True),
    "response-header": ("response header", False, True),
}

# Severity exceptions for generated schema rules; everything else is an error.
_SCHEMA_SEVERITY: dict[str, Severity] = {
    "response-body-enum-value-added": W,
    "response-property-enum-value-added": W,
    "response-header-enum-value-added": W,
}


def schema_rule_id(kind: str, context: str, *, reader_is_new: bool) -> str:
    """The rule id for an incompatibility of ``kind`` found in ``context``."""
    return schema_rule_id_from(SCHEMA_KINDS[kind], context, reader_is_new)


def schema_rule_id_from(kind: SchemaKind, context: str, reader_is_new: bool) -> str:
    template = kind.new if reader_is_new else kind.old
    return template.format(ctx=context, side=context.split("-")[0])


def _schema_rules() -> list[Rule]:
    rules: dict[str, Rule] = {}
    for context, (label, new_reader, old_reader) in SCHEMA_CONTEXTS.items():
        for kind in SCHEMA_KINDS.values():
            for reader_is_new, enabled in ((True, new_reader), (False, old_reader)):
                if not enabled:
                    continue
                rule_id = schema_rule_id_from(kind, context, reader_is_new)
                if rule_id in rules:
                    continue
                summary = kind.summary_new if reader_is_new else kind.summary_old
                example = kind.example_new if reader_is_new else kind.example_old
                rules[rule_id] = Rule(
                    rule_id, _SCHEMA_SEVERITY.get(rule_id, E), f"{label}: {summary}", example, context
                )
    return list(rules.values())


# fmt: off
_STRUCTURAL: list[Rule] = [
    Rule("api-path-removed-without-deprecation", E, "a path was removed without first being deprecated", "`/orders/{id}` gone, never `deprecated: true`", "paths"),
    Rule("api-path-removed-before-sunset", E, "a deprecated path was removed before its `x-sunset` date", "`/orders` deprecated with `x-sunset: 2030-01-01`, removed today", "paths"),
    Rule("api-path-removed", INFO, "a deprecated path was removed after its sunset", "`/v1/stock` deprecated, sunset passed, removed", "paths"),
    Rule("api-path-added", INFO, "a path was added", "(none) → `/transfers`", "paths"),
    Rule("api-path-parameter-renamed", INFO, "a templated path kept its shape but renamed a parameter", "`/orders/{id}` → `/orders/{orderId}`", "paths"),
    Rule("api-removed-without-deprecation", E, "an operation was removed without first being deprecated", "`DELETE /orders/{id}` gone, never deprecated", "operations"),
    Rule("api-removed-before-sunset", E, "a deprecated operation was removed before its `x-sunset` date", "`GET /stock` with `x-sunset: 2030-01-01` removed today", "operations"),
    Rule("api-removed", INFO, "a deprecated operation was removed after its sunset", "`GET /v1/stock` deprecated, sunset passed, removed", "operations"),
    Rule("endpoint-added", INFO, "an operation was added", "(none) → `POST /transfers`", "operations"),
    Rule("api-deprecated", INFO, "an operation was marked deprecated", "`deprecated: false` → `deprecated: true`", "deprecation"),
    Rule("api-reactivated", INFO, "a deprecated operation is no longer deprecated", "`deprecated: true` → (none)", "deprecation"),
    Rule("api-deprecated-without-sunset", W, "an operation was deprecated without an `x-sunset` date", "`deprecated: true` with no `x-sunset`", "deprecation"),
    Rule("api-sunset-date-too-small", E, "a deprecation gives less notice than the policy's minimum (`--deprecation-days`, default 90)", "deprecated today with `x-sunset` in 30 days", "deprecation"),
    Rule("api-sunset-deleted", E, "the `x-sunset` date of a deprecated operation was deleted", "`x-sunset: 2027-01-01` → (none)", "deprecation"),
    Rule("api-stability-decreased", E, "an operation's `x-stability-level` went down", "`x-stability-level: stable` → `beta`", "deprecation"),
    Rule("api-invalid-stability-level", E, "an `x-stability-level` is not draft, alpha, beta or stable", "`x-stability-level: gold`", "deprecation"),
    Rule("request-parameter-deprecated", INFO, "a parameter was marked deprecated", "`deprecated: true` on `sort`", "deprecation"),
    Rule("request-parameter-reactivated", INFO, "a deprecated parameter is no longer deprecated", "`deprecated: true` → (none)", "deprecation"),
    Rule("request-parameter-deprecated-without-sunset", W, "a parameter was deprecated without an `x-sunset` date", "`deprecated: true` with no `x-sunset`", "deprecation"),
    Rule("request-parameter-sunset-date-too-small", E, "a parameter's deprecation gives less notice than the policy's minimum", "deprecated today with `x-sunset` in 30 days", "deprecation"),
    Rule("request-parameter-invalid-sunset-date", E, "a parameter's `x-sunset` is not an RFC 3339 date", "`x-sunset: soon`", "deprecation"),
    Rule("request-parameter-sunset-deleted", E, "the `x-sunset` date of a deprecated parameter was deleted", "`x-sunset: 2027-01-01` → (none)", "deprecation"),
    Rule("api-invalid-sunset-date", E, "an `x-sunset` value is not an RFC 3339 date", "`x-sunset: next spring`", "deprecation"),
    Rule("api-operation-id-changed", W, "an operation's operationId changed, breaking generated clients' method names", "`operationId: getOrder` → `operationId: fetchOrder`", "operations"),
    Rule("api-operation-id-removed", W, "an operation lost its operationId", "`operationId: getOrder` → (none)", "operations"),
    Rule("api-tag-removed", INFO, "an operation lost a tag", "`tags: [orders, stock]` → `tags: [orders]`", "operations"),
    Rule("new-required-request-parameter", E, "a new required parameter was added", "(none) → `in: query, name: store, required: true`", "parameters"),
    Rule("new-optional-request-parameter", INFO, "a new optional parameter was added", "(none) → `in: query, name: limit`", "parameters"),
    Rule("request-parameter-became-required", E, "an optional parameter became required", "`required: false` → `required: true`", "parameters"),
    Rule("request-parameter-became-optional", INFO, "a required parameter became optional", "`required: true` → `required: false`", "parameters"),
    Rule("request-parameter-removed", W, "a parameter was removed; old clients still send it", "`in: query, name: sort` → (none)", "parameters"),
    Rule("request-parameter-removed-without-deprecation", E, "a parameter was removed without first being deprecated", "`name: sort` gone, never `deprecated: true`", "parameters"),
    Rule("request-parameter-removed-before-sunset", E, "a deprecated parameter was removed before its `x-sunset` date", "`name: sort` with `x-sunset: 2030-01-01` removed", "parameters"),
    Rule("request-parameter-style-changed", E, "a parameter's serialisation style changed", "`style: form` → `style: pipeDelimited`", "parameters"),
    Rule("request-parameter-explode-changed", E, "a parameter's explode setting changed", "`explode: true` → `explode: false`", "parameters"),
    Rule("request-parameter-allow-reserved-removed", E, "a parameter no longer allows reserved characters", "`allowReserved: true` → (none)", "parameters"),
    Rule("request-parameter-default-value-changed", E, "the default of an optional parameter was set, changed or removed, so clients that omit it get different behaviour", "`default: 20` → `default: 50`", "parameters"),
    Rule("request-parameter-content-type-changed", E, "a parameter's content media type changed", "`content: application/json` → `content: text/plain`", "parameters"),
    Rule("new-required-request-body", E, "an operation that took no body now requires one", "(none) → `requestBody: {required: true}`", "request body"),
    Rule("new-optional-request-body", INFO, "an operation that took no body accepts an optional one", "(none) → `requestBody: {required: false}`", "request body"),
    Rule("request-body-became-required", E, "an optional request body became required", "`required: false` → `required: true`", "request body"),
    Rule("request-body-became-optional", INFO, "a required request body became optional", "`required: true` → `required: false`", "request body"),
    Rule("request-body-removed", E, "the request body was removed; old clients still send one", "`requestBody: ...` → (none)", "request body"),
    Rule("request-body-media-type-removed", E, "a request media type is no longer accepted", "`application/json, application/xml` → `application/json`", "request body"),
    Rule("request-body-media-type-added", INFO, "a request media type was added", "`application/json` → `application/json, text/csv`", "request body"),
    Rule("request-property-removed-before-sunset", E, "a deprecated request property was removed before its `x-sunset` date", "`ean` with `x-sunset: 2030-01-01` removed", "request body"),
    Rule("request-property-removed-without-deprecation", W, "a request property was removed without first being deprecated", "`properties: {sku, ean}` → `properties: {sku}`", "request body"),
    Rule("response-success-status-removed", E, "a success (2xx) response status was removed", "`200, 404` → `404`", "responses"),
    Rule("response-non-success-status-removed", W, "a non-success response status was removed", "`200, 404` → `200`", "responses"),
    Rule("response-success-status-added", INFO, "a success response status was added", "`200` → `200, 202`", "responses"),
    Rule("response-non-success-status-added", INFO, "a non-success response status was added", "`200` → `200, 429`", "responses"),
    Rule("response-media-type-removed", E, "a response media type was removed", "`application/json, text/csv` → `application/json`", "responses"),
    Rule("response-media-type-added", INFO, "a response media type was added", "`application/json` → `application/json, text/csv`", "responses"),
    Rule("response-body-removed", E, "a response that had a body no longer has one", "`content: application/json` → (none)", "responses"),
    Rule("response-required-header-removed", E, "a required response header was removed", "`X-Rate-Limit (required)` → (none)", "responses"),
    Rule("response-optional-header-removed", INFO, "an optional response header was removed", "`X-Trace-Id` → (none)", "responses"),
    Rule("response-header-became-optional", E, "a required response header became optional", "`required: true` → `required: false`", "responses"),
    Rule("response-property-removed-without-deprecation", W, "a response property was removed without first being deprecated", "`properties: {sku, ean}` → `properties: {sku}`", "responses"),
    Rule("response-property-removed-before-sunset", E, "a deprecated response property was removed before its `x-sunset` date", "`ean` with `x-sunset: 2030-01-01` removed", "responses"),
    Rule("api-security-added", E, "an operation that needed no credentials now requires them", "`security: []` → `security: [{apiKey: []}]`", "security"),
    Rule("api-security-requirement-removed", E, "a security alternative clients may use was removed", "`[{apiKey: []}, {oauth: []}]` → `[{oauth: []}]`", "security"),
    Rule("api-security-scope-added", E, "a security requirement now needs an extra scope", "`oauth: [read]` → `oauth: [read, write]`", "security"),
    Rule("api-security-requirement-added", INFO, "a new security alternative was offered", "`[{apiKey: []}]` → `[{apiKey: []}, {oauth: []}]`", "security"),
    Rule("api-security-removed", INFO, "an operation no longer needs credentials", "`security: [{apiKey: []}]` → `security: []`", "security"),
    Rule("api-server-removed", W, "a server URL clients may be configured with was removed", "`https://api.example.com` → `https://api2.example.com`", "servers"),
    Rule("api-base-path-changed", W, "the base path of every server changed, moving every endpoint", "`https://h/api/v1` → `https://h/api/v2`", "servers"),
    Rule("api-version-decreased", E, "info.version went backwards", "`2.1.0` → `2.0.3`", "versions"),
    Rule("api-major-version-required", E, "a breaking change was made without a new major version", "`1.4.0` → `1.5.0` with a breaking change", "versions"),
    Rule("api-minor-version-required", W, "something was added without a new minor version", "`1.4.0` → `1.4.1` with a new endpoint", "versions"),
    Rule("api-version-not-semantic", W, "info.version is not a semantic version, so it cannot be checked", "`version: latest`", "versions"),
    Rule("api-version-not-a-string", W, "a version was written as a YAML number and would lose digits (`1.10` reads as 1.1)", "`version: 1.10` (unquoted)", "versions"),
    Rule("comparison-too-complex", E, "the schemas were too large or too deeply combined to compare within the step budget", "50 levels of nested `oneOf`", "engine"),
    Rule("waiver-expired", E, "a waiver in the --ignore file has passed its expiry date", "`expires: 2024-01-01` in waivers.yaml", "waivers"),
]
# fmt: on

RULES: dict[str, Rule] = {rule.id: rule for rule in [*_STRUCTURAL, *_schema_rules()]}
