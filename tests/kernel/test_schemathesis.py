"""schemathesis against the app's own OpenAPI description: every check, every phase, bounded.

The run is schemathesis' own engine (what ``schemathesis run`` drives), in process over the
ASGI app: the examples, coverage, fuzzing and stateful phases, with all the built-in checks
(``not_a_server_error``, status code, content type, response headers and response schema
conformance, negative data rejection, positive data acceptance, ignored auth, unsupported
methods, use after free, resource availability, ...). Any failure fails the test with the
operation, the check, the request as curl and the response.

Not ``schema.parametrize()``: its fixture-based form (the one that can use the ``service``
fixture) sets ``Function._nodeid``, which pytest 9.2 no longer has.
"""

from __future__ import annotations

import gc
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, from_schema
from schemathesis.engine import events as engine_events

pytestmark = [
    pytest.mark.slow,
    # schemathesis drives ASGI apps with starlette-testclient 0.4.1, which names anyio's
    # BlockingPortal by an alias anyio 4.x deprecates, and never closes the memory streams
    # it opens for the lifespan of each client it enters (one a request).
    pytest.mark.filterwarnings("ignore:The anyio.abc.BlockingPortal alias is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Unclosed <MemoryObject(Send|Receive)Stream:ResourceWarning"),
    # Hypothesis warns that printing a large generated body is slow; a report, not a fault.
    pytest.mark.filterwarnings("ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning"),
]

MAX_EXAMPLES = 25  # per operation and phase, with a key: about 50 s a database on 2 cores
MAX_EXAMPLES_WITHOUT_KEY = 5  # nearly every answer is the same 401


# positive_data_acceptance expects every request the schema allows to succeed. Two values
# are valid only if the server says so, which no JSON Schema can express, so their refusal
# is admitted on the operations that take them (every other check still applies there):
#
# an opaque `cursor`, the next_cursor the server issued: any other is a 400. (This also
# admits the 400 for `since=null`: FastAPI declares optional query parameters as
# `anyOf: [..., {"type": "null"}]`, which a query string cannot carry.)
CURSOR_PAGES = {
    "include-path": ["/v1/audit", "/v1/transactions"],
    "include-method": "GET",
    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404", "409"]}},
}
# `content`, an OpenAPI document or JSON Schema as text: "" or "abc" is a 422.
DOCUMENTS = {
    "include-path-regex": "^/v1/contracts/[{]name[}]/(versions|compatibility)$",
    "include-method": "POST",
    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "422"]}},
}


def _config(headers: dict[str, str], max_examples: int) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": 20261128,  # with `deterministic`, the same cases on every run: CI is reproducible
            # Hypothesis' health checks judge the generator (e.g. "too many examples filtered out"
            # for a body with several constrained members), not the API; they are no finding.
            "suppress-health-check": ["all"],
            "headers": headers,
            "workers": 1,
            "generation": {
                "max-examples": max_examples,
                "deterministic": True,
                "database": "none",  # no .hypothesis/ folder in the repository
                # Unknown query parameters are ignored, as HTTP APIs (and FastAPI) do; without this
                # negative_data_rejection counts `?x-schemathesis-unknown-property=42` answered 200
                # as a failure. Unknown body members are still generated.
                "allow-extra-parameters": False,
            },
            "operations": [CURSOR_PAGES, DOCUMENTS],
        }
    )


def _as_served(app: Any) -> Any:
    """The app as a server runs it, for schemathesis' ASGI transport.

    Without its lifespan: the transport opens a new client, and so would run the lifespan
    (sweeper start, engine disposal), for every request; the ``service`` fixture's client
    already runs it once. And an unexpected error the app has already answered (its 500
    problem document) is not re-raised into the client, which would turn it into an engine
    error without the request; not_a_server_error reports it with the request instead.
    """

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            answered = False

            async def tracking(message: dict[str, Any]) -> None:
                nonlocal answered
                answered = answered or message["type"] == "http.response.start"
                await send(message)

            try:
                await app(scope, receive, tracking)
            except Exception:
                if not answered:
                    raise
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    return asgi


def _failures(app: Any, headers: dict[str, str], max_examples: int) -> tuple[int, list[str]]:
    """Run every phase and check against the app; the number of cases and each problem."""
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", _as_served(app), config=_config(headers, max_examples)
    )
    cases = 0
    found: list[str] = []
    for event in from_schema(schema).execute():
        if isinstance(event, engine_events.ScenarioFinished | engine_events.FuzzScenarioFinished):
            recorder = event.recorder
            cases += len(recorder.interactions)
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    if check.status is not Status.FAILURE or check.failure_info is None:
                        continue
                    interaction = recorder.interactions.get(case_id)
                    response = interaction.response if interaction is not None else None
                    answer = (
                        f"{response.status_code} {response.content[:300]!r}"
                        if response is not None
                        else "no response"
                    )
                    failure = check.failure_info.failure
                    found.append(
                        f"{recorder.label}: {check.name}: {failure.title}\n  {failure.message}\n"
                        f"  request: {check.failure_info.code_sample}\n  response: {answer}"
                    )
        elif isinstance(event, engine_events.NonFatalError):
            # e.g. a 500 the test client re-raised; its first line, so one cause is one finding
            first_line = event.info.message.strip().splitlines()[0] if event.info.message.strip() else ""
            found.append(f"{event.label}: error: {event.info.title}: {first_line}")
        elif isinstance(event, engine_events.FatalError):
            found.append(f"fatal: {event.exception!r}")
    return cases, sorted(set(found))


def _check(app: Any, headers: dict[str, str], max_examples: int) -> None:
    cases, failures = _failures(app, headers, max_examples)
    gc.collect()  # the test clients' unclosed streams go while the filters above apply
    assert cases > 0
    assert not failures, f"{len(failures)} finding(s) in {cases} cases:\n\n" + "\n\n".join(failures)


def test_schemathesis_as_admin(service: Any) -> None:
    _check(service.client.app, service.as_role("admin"), MAX_EXAMPLES)


def test_schemathesis_without_a_key(service: Any) -> None:
    """Every operation that needs a key refuses, as its OpenAPI entry says (ignored_auth,
    status and content type conformance of the 401s), and nothing answers 5xx."""
    _check(service.client.app, {}, MAX_EXAMPLES_WITHOUT_KEY)
