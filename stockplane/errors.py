"""The one error family stockplane reports to people.

    AppError                  anything we explain instead of crashing
     ├── InputError           the caller's input is unusable (CLI exit 2, HTTP 4xx)
     │    ├── DocumentError   a contract document cannot be read, parsed or resolved
     │    └── UsageError      options or arguments that do not fit together
     ├── Unauthorized         no valid API key (401)
     ├── Forbidden            a valid key without the role the action needs (403)
     ├── NotFound             the resource does not exist (404)
     └── Conflict             the request contradicts stored state (409), e.g. a breaking
                              change or a version registered twice

Each error carries an HTTP status and a stable problem ``type`` URI so the API can render
RFC 9457 problem details and the CLI can print one line.
"""

from __future__ import annotations

PROBLEM_BASE = "https://stockplane.dev/problems/"


class AppError(Exception):
    """Base class: a message meant for a person, an HTTP status and a problem type."""

    status: int = 500
    problem: str = "internal"

    def __init__(self, message: str, **extensions: object) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions  # extra members of the problem document (RFC 9457 §3.2)

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.problem


class InputError(AppError):
    """The input cannot be used as given; nothing was changed."""

    status = 400
    problem = "invalid-input"


class DocumentError(InputError):
    """A document is unreadable, malformed, too large, too deep or has a bad ``$ref``."""

    status = 422
    problem = "invalid-document"

    def __init__(self, source: str, message: str, *, line: int | None = None, **extensions: object) -> None:
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {message}", **extensions)
        self.source = source
        self.line = line


class UsageError(InputError):
    """Options or arguments that do not fit together."""

    problem = "invalid-usage"


class Unauthorized(AppError):
    status = 401
    problem = "unauthorized"


class Forbidden(AppError):
    status = 403
    problem = "forbidden"


class NotFound(AppError):
    status = 404
    problem = "not-found"


class Conflict(AppError):
    status = 409
    problem = "conflict"
