"""The contract lint rules: id, default severity, what each checks and an example.

Severities and options can be changed per rule in the policy pack's ``lint`` section.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..diff.findings import Severity

__all__ = ["LINT_RULES", "LintRule"]

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


@dataclass(frozen=True, slots=True)
class LintRule:
    id: str
    kind: str  # "openapi" or "jsonschema"
    severity: Severity
    summary: str
    example: str


# fmt: off
_RULES = [
    LintRule("event-envelope-field-missing", "jsonschema", E, "an event schema lacks a required envelope field (event_id, correlation_id, occurred_at, schema_version, source) or does not require it", "`required: [event_id]` without `correlation_id`"),
    LintRule("event-envelope-field-type", "jsonschema", E, "an envelope field has the wrong type (ids and schema_version strings, occurred_at a date-time string, source an object)", "`occurred_at: {type: integer}`"),
    LintRule("event-status-not-canonical", "jsonschema", E, "`inventory_status` is not an enum of the pack's canonical statuses", "`inventory_status: {enum: [on_hand]}`"),
    LintRule("event-quantity-not-integer", "jsonschema", E, "a quantity is not an integer (stock is counted in units)", "`quantity: {type: number}`"),
    LintRule("event-id-unbounded", "jsonschema", W, "an identifier is not a string with a maxLength", "`location_id: {type: string}`"),
    LintRule("event-schema-dialect-missing", "jsonschema", INFO, "the schema does not declare its `$schema` dialect", "(no `$schema`)"),
    LintRule("openapi-security-scheme-undefined", "openapi", E, "a security requirement names a scheme not defined in components.securitySchemes", "`security: [{oauth: []}]` with no `oauth` scheme"),
    LintRule("openapi-operation-unsecured", "openapi", E, "an operation has no security requirement (neither its own nor a global one)", "`POST /reservations` with no `security`"),
    LintRule("openapi-operation-id-missing", "openapi", E, "an operation has no operationId, so generated clients have no method name", "`get:` without `operationId`"),
    LintRule("openapi-operation-id-duplicate", "openapi", E, "two operations share an operationId", "`getStock` on two paths"),
    LintRule("openapi-operation-summary-missing", "openapi", W, "an operation has no summary", "`get:` without `summary`"),
    LintRule("openapi-operation-tags-missing", "openapi", W, "an operation has no tags to group it by", "`get:` without `tags`"),
    LintRule("openapi-error-not-problem-json", "openapi", W, "a 4xx or 5xx response does not offer `application/problem+json` (RFC 9457)", "`404: {content: {application/json: ...}}`"),
    LintRule("openapi-list-not-paginated", "openapi", W, "a GET that returns a list accepts no pagination parameter (limit, cursor, page, offset ...)", "`GET /orders` returning an array, no `limit`"),
    LintRule("openapi-version-missing", "openapi", W, "the API version is neither in the server or path (`/v1`) nor in a version header", "`servers: [{url: https://api.example.com}]`, paths `/orders`"),
    LintRule("openapi-server-not-https", "openapi", E, "a server URL uses plain `http://` (loopback addresses excepted)", "`url: http://api.example.com`"),
    LintRule("openapi-request-string-unbounded", "openapi", W, "a request string has no maxLength (OWASP API4: unrestricted resource consumption)", "`note: {type: string}` in a request body"),
    LintRule("openapi-request-array-unbounded", "openapi", W, "a request array has no maxItems (OWASP API4)", "`lines: {type: array, items: ...}`"),
    LintRule("openapi-idempotency-key-missing", "openapi", E, "an operation that creates orders or reservations does not accept an `Idempotency-Key` header", "`POST /reservations` without the header"),
    LintRule("openapi-deprecated-without-sunset", "openapi", W, "a deprecated operation carries no `x-sunset` date", "`deprecated: true` alone"),
    LintRule("openapi-info-version-not-semver", "openapi", W, "info.version is not a semantic version, so changes cannot be checked against it", "`version: latest`"),
]
# fmt: on

LINT_RULES: dict[str, LintRule] = {rule.id: rule for rule in _RULES}
