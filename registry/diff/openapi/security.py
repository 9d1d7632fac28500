"""Security requirements and servers: what changed for a client's credentials and URLs.

OpenAPI lists security requirements as alternatives (any one suffices) and each
requirement as a conjunction of schemes with scopes. Adding an alternative is harmless;
removing one, or adding a scope to one, breaks the clients that used it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Change", "security_changes", "server_changes"]


@dataclass(frozen=True)
class Change:
    rule: str
    message: str
    old: Any = None
    new: Any = None


def security_changes(old_raw: Any, new_raw: Any) -> Iterator[Change]:
    old_reqs, new_reqs = _requirements(old_raw), _requirements(new_raw)
    if old_reqs == new_reqs:
        return
    old_open = not old_reqs or {} in old_reqs
    new_open = not new_reqs or {} in new_reqs
    if old_open and not new_open:
        yield Change("api-security-added", "now requires credentials")
        return
    if new_open and not old_open:
        yield Change("api-security-removed", "no longer requires credentials")
        return
    for requirement in old_reqs:
        same = [candidate for candidate in new_reqs if candidate.keys() == requirement.keys()]
        if not same:
            names = " + ".join(sorted(requirement)) or "anonymous"
            yield Change(
                "api-security-requirement-removed",
                f"security option {names} removed",
                old=sorted(requirement),
            )
        elif not any(all(candidate[k] <= requirement[k] for k in requirement) for candidate in same):
            added = sorted(
                set().union(*(candidate[k] - requirement[k] for candidate in same for k in requirement))
            )
            yield Change(
                "api-security-scope-added", f"security scopes {', '.join(added)} now required", new=added
            )
    for requirement in new_reqs:
        if requirement and not any(candidate.keys() == requirement.keys() for candidate in old_reqs):
            yield Change(
                "api-security-requirement-added", f"security option {' + '.join(sorted(requirement))} added"
            )


def server_changes(old_data: Any, new_data: Any) -> Iterator[Change]:
    old_urls, new_urls = _server_urls(old_data), _server_urls(new_data)
    if not old_urls or old_urls == new_urls:
        return
    old_paths = {urlsplit(url).path.rstrip("/") for url in old_urls}
    new_paths = {urlsplit(url).path.rstrip("/") for url in new_urls or ["/"]}
    if new_paths and not (old_paths & new_paths):
        before = ", ".join(sorted(old_paths)) or "/"
        after = ", ".join(sorted(new_paths)) or "/"
        yield Change(
            "api-base-path-changed",
            f"base path {before} became {after}",
            sorted(old_paths),
            sorted(new_paths),
        )
        return
    for url in old_urls:
        if url not in new_urls:
            yield Change("api-server-removed", f"server {url} removed", old=url)


def _requirements(raw: Any) -> list[dict[str, set[str]]]:
    if not isinstance(raw, list):
        return []
    return [
        {name: set(scopes or []) for name, scopes in requirement.items()}
        for requirement in raw
        if isinstance(requirement, dict)
    ]


def _server_urls(data: Any) -> list[str]:
    servers = data.get("servers") if isinstance(data, dict) else None
    if not isinstance(servers, list):
        return []
    return [
        server["url"] for server in servers if isinstance(server, dict) and isinstance(server.get("url"), str)
    ]
