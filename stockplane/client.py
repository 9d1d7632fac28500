"""A small HTTP client for the CLI commands that talk to a running stockplane server."""

from __future__ import annotations

import time
from typing import Any

import httpx2

from .errors import AppError
from .settings import get_settings

__all__ = ["Client", "Refused", "RemoteError"]


class RemoteError(AppError):
    """The server answered with a problem the caller cannot fix by changing the contract."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        detail = problem.get("detail") or problem.get("title") or f"HTTP {status}"
        super().__init__(f"{status} {problem.get('title', '')}: {detail}".strip(), **problem)
        self.status = status
        self.problem_body = problem


class Refused(RemoteError):
    """A 409: the registry refused the change; its findings explain why (CLI exit 1)."""


_BUSY = frozenset({429, 503})


def _retry_after(response: httpx2.Response) -> float:
    """Seconds to wait before asking a busy server again: its Retry-After, within reason."""
    try:
        return min(max(float(response.headers.get("retry-after", "1")), 0.1), 30.0)
    except ValueError:  # an HTTP date: rare from stockplane, and a second is a fair guess
        return 1.0


class Client:
    retries = 5  # attempts after a 429 or 503, each after the wait the server asked for
    timeout = 60.0  # seconds for each request

    def __init__(self, url: str | None = None, api_key: str | None = None) -> None:
        settings = get_settings()
        self.url = _server_url(url or settings.url)
        key = api_key if api_key is not None else settings.api_key
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            with httpx2.Client(base_url=self.url, headers=self._headers, timeout=self.timeout) as http:
                response = http.request(method, path, **kwargs)
                for _ in range(self.retries):  # a busy server says when to come back
                    if response.status_code not in _BUSY:
                        break
                    time.sleep(_retry_after(response))
                    response = http.request(method, path, **kwargs)
        except httpx2.TimeoutException:
            raise AppError(f"stockplane at {self.url} did not answer within {self.timeout:g} s") from None
        except httpx2.HTTPError as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise AppError(
                f"cannot reach stockplane at {self.url}: {reason[:200]}; is `stockplane serve` running?"
            ) from None
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"title": response.reason_phrase, "detail": response.text[:200]}
            if not isinstance(problem, dict):
                problem = {"title": response.reason_phrase}
            raise (Refused if response.status_code == 409 else RemoteError)(response.status_code, problem)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise AppError(
                f"{self.url} answered {method} {path} with something other than JSON; "
                "is it a stockplane server (STOCKPLANE_URL)?"
            ) from None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)


def _server_url(url: str) -> str:
    """The server's base URL, or an error a person can act on for one that cannot be."""
    try:
        parsed = httpx2.URL(url)
    except httpx2.InvalidURL as exc:
        raise AppError(f"the server URL {url!r} is not a URL ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host or parsed.query or parsed.fragment:
        raise AppError(
            f"the server URL {url!r} must be http(s)://HOST[:PORT][/PATH], without a query or fragment"
        )
    return url.rstrip("/")
