"""`stockplane simulate`, `simulate score` and `stockplane demo`, end to end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import orjson
import pytest

from stockplane.settings import get_settings
from stockplane.simulator.faults import FaultRates
from tests.conftest import _free_port

START = "2026-11-23T10:00:00Z"  # a Monday morning
NO_CONTRACT_FAULTS = "contract_violation: 0\nretired_schema_version: 0\n"


def test_simulate_writes_events_and_truth_deterministically(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    args = ("simulate", "--stores", "20", "--hours", "1", "--start", START, "--seed", "3")
    first = cli(*args, "--out", tmp_path / "a.jsonl", "--truth", tmp_path / "a-truth.jsonl")
    again = cli(*args, "--out", tmp_path / "b.jsonl", "--truth", tmp_path / "b-truth.jsonl")
    assert first.code == 0 and again.code == 0, first.stderr
    assert "events from" in first.stdout and "2026-11-23 10:00" in first.stdout
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert (tmp_path / "a-truth.jsonl").read_bytes() == (tmp_path / "b-truth.jsonl").read_bytes()
    events = [orjson.loads(line) for line in (tmp_path / "a.jsonl").read_bytes().splitlines()]
    truths = [orjson.loads(line) for line in (tmp_path / "a-truth.jsonl").read_bytes().splitlines()]
    assert len(events) > 500 and {t["correlation_id"] for t in truths} == {
        e["correlation_id"] for e in events
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--hours", "1"), "--out FILE, or --to URL"),
        (("--hours", "1", "--days", "1", "--out", "x"), "--days or --hours"),
        (("--hours", "1", "--live", "--out", "x"), "need --to URL"),
        (("--hours", "1", "--start", "last tuesday", "--out", "x"), "--start: not an ISO 8601"),
        (("--hours", "1", "--faults", "FAULTS", "--out", "x"), "unknown fault kind(s) meteor"),
        (("--hours", "1", "--faults", "RATES", "--out", "x"), "late must be a rate between 0 and 1"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    cli, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "faults.yaml").write_text("meteor: 0.1\n")
    (tmp_path / "rates.yaml").write_text("late: 2\n")
    paths = {
        "FAULTS": str(tmp_path / "faults.yaml"),
        "RATES": str(tmp_path / "rates.yaml"),
        "x": str(tmp_path / "x"),
    }
    result = cli("simulate", *(paths.get(a, a) for a in args))
    assert result.code == 2, result
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_simulate_ingest_score_from_files(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("STOCKPLANE_DATABASE_URL", database_url)  # SQLite, and PostgreSQL when configured
    get_settings.cache_clear()
    faults = tmp_path / "faults.yaml"
    faults.write_text(NO_CONTRACT_FAULTS)  # no contracts registered here: nothing could see them
    events, truth = tmp_path / "events.jsonl", tmp_path / "truth.jsonl"
    simulated = cli(
        "simulate", "--stores", "30", "--hours", "2", "--faults", faults, "--out", events, "--truth", truth
    )
    assert simulated.code == 0, simulated.stderr
    assert cli("db", "upgrade").code == 0
    assert cli("ingest", events).code == 0
    scored = cli("simulate", "score", "--truth", truth)
    assert scored.code == 0, scored.stdout
    assert "PASS" in scored.stdout and "confusion" in scored.stdout
    as_json = orjson.loads(cli("simulate", "score", "--truth", truth, "--json").stdout)
    assert as_json["meets_bar"] and as_json["transactions"] > 100
    # with the default rates, violations are injected but no contract is registered to catch them
    loud = tmp_path / "loud.jsonl"
    cli(
        "simulate",
        "--stores",
        "30",
        "--hours",
        "2",
        "--seed",
        "9",
        "--out",
        tmp_path / "e2.jsonl",
        "--truth",
        loud,
    )
    assert cli("ingest", tmp_path / "e2.jsonl").code == 0
    missed = cli("simulate", "score", "--truth", loud, "--json")
    assert missed.code == 1
    kinds = {m["kind"]: m for m in orjson.loads(missed.stdout)["anomalies"]}
    assert kinds["contract_violation"]["recall"] == 0.0 and not kinds["contract_violation"]["meets_bar"]


def test_simulate_streams_to_a_server_and_sends_middleware_spans_over_otlp(  # type: ignore[no-untyped-def]
    cli, server: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOCKPLANE_API_KEY", server["admin"])
    get_settings.cache_clear()
    sent = cli(
        "simulate",
        "--stores",
        "10",
        "--hours",
        "2",
        "--start",
        START,
        "--to",
        os.environ["STOCKPLANE_URL"],
        "--otlp",
    )
    assert sent.code == 0, sent.stderr
    headers = {"Authorization": f"Bearer {server['admin']}"}
    url = os.environ["STOCKPLANE_URL"]
    page = httpx2.get(f"{url}/v1/transactions", params={"system": "middleware", "limit": 1}, headers=headers)
    assert page.status_code == 200 and page.json()["items"], page.text
    correlation_id = page.json()["items"][0]["correlation_id"]
    timeline = httpx2.get(f"{url}/v1/transactions/{correlation_id}", headers=headers).json()
    middleware = [e for e in timeline["events"] if e["system"] == "middleware"]
    assert middleware and middleware[0]["traceparent"].startswith("00-"), timeline  # it came in as a span
    assert all(e["traceparent"] is None for e in timeline["events"] if e["system"] != "middleware")
    systems = httpx2.get(f"{url}/v1/systems", headers=headers).json()
    assert {"pos", "erp", "middleware"} <= {s["system"] for s in systems}


def test_demo_no_serve_runs_end_to_end_and_meets_the_bar(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("demo", "--no-serve", "--stores", "40", "--hours", "2", "--directory", tmp_path / "demo")
    assert result.code == 0, result.stdout + result.stderr
    for line in (
        "[1/5] database",
        "22 versions registered",
        "REFUSED",
        "retired ahead of its sunset",
        "PASS",
    ):
        assert line in result.stdout
    assert (tmp_path / "demo" / "truth.jsonl").stat().st_size > 0


def test_clock_skew_within_tolerance_is_never_flagged(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    faults = tmp_path / "skew.yaml"
    only_skew = {name: 0.0 for name in FaultRates().as_dict()} | {"clock_skew": 1.0}
    faults.write_text("".join(f"{name}: {rate}\n" for name, rate in only_skew.items()))
    result = cli(
        "demo",
        "--no-serve",
        "--stores",
        "20",
        "--hours",
        "1",
        "--faults",
        faults,
        "--directory",
        tmp_path / "d",
    )
    assert result.code == 0, result.stdout
    assert "anomalies    none" in result.stdout
    truths = [orjson.loads(line) for line in (tmp_path / "d" / "truth.jsonl").read_bytes().splitlines()]
    skewed = sum(1 for t in truths if "clock_skew" in t["faults"])
    assert skewed > 0.5 * len(truths)  # most had a step to skew; none was flagged


@pytest.mark.slow
def test_demo_serves_the_api_with_a_live_trickle_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "STOCKPLANE_DATABASE_URL": f"sqlite:///{tmp_path}/unused.db"}
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stockplane",
            "demo",
            "--hours",
            "0.2",
            "--stores",
            "400",
            "--port",
            str(port),
            "--directory",
            str(tmp_path / "demo"),
            "--live-speed",  # traffic follows the hour of day: keep it moving at night too
            "120",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        key = None
        deadline = time.monotonic() + 90
        assert demo.stdout is not None
        while key is None and time.monotonic() < deadline:
            line = demo.stdout.readline()
            if line.startswith("API key"):
                key = line.split()[2]
        assert key, "the demo did not print its API key"
        headers = {"Authorization": f"Bearer {key}"}
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                first = httpx2.get(f"{base}/v1/systems", headers=headers)
                break
            except httpx2.TransportError:
                time.sleep(0.1)
        events = lambda answer: sum(s["events"] for s in answer.json())  # noqa: E731
        deadline = time.monotonic() + 30
        while True:  # the live trickle keeps arriving
            time.sleep(1)
            later = httpx2.get(f"{base}/v1/systems", headers=headers)
            if events(later) > events(first) or time.monotonic() > deadline:
                break
        assert events(later) > events(first)
        demo.send_signal(signal.SIGINT)
        out, err = demo.communicate(timeout=30)
        assert demo.returncode == 0 and "stopped" in out
        assert "Traceback" not in err
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.communicate(timeout=30)  # closes the pipes


def test_demo_never_empties_a_directory_it_did_not_make(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    precious = tmp_path / "work"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    result = cli("demo", "--no-serve", "--hours", "0.2", "--stores", "5", "--directory", precious)
    assert result.code == 2 and "not made by `stockplane demo`" in result.stderr
    assert (precious / "notes.txt").read_text() == "mine"


def test_demo_refuses_a_busy_port_before_doing_any_work(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("demo", "--port", port, "--directory", tmp_path / "d")
    assert result.code == 2 and f"cannot serve on 127.0.0.1:{port}" in result.stderr
    assert not (tmp_path / "d").exists()


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_acceptance_bar_on_seeds_1_2_and_3(cli, tmp_path: Path, seed: int) -> None:  # type: ignore[no-untyped-def]
    # the full estate (400 stores) and default faults; two hours keep the suite quick
    result = cli("demo", "--no-serve", "--hours", "2", "--seed", seed, "--directory", tmp_path / "d")
    assert result.code == 0 and "PASS: every kind at or above 0.98" in result.stdout, result.stdout
    assert "BELOW" not in result.stdout


def test_speed_paces_the_stream_to_simulated_time(  # type: ignore[no-untyped-def]
    cli, server: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOCKPLANE_API_KEY", server["admin"])
    get_settings.cache_clear()
    began = time.monotonic()
    # six simulated minutes at 120 times real time: no sooner than about three seconds
    sent = cli(
        "simulate",
        "--stores",
        "40",
        "--hours",
        "0.1",
        "--start",
        START,
        "--speed",
        "120",
        "--to",
        os.environ["STOCKPLANE_URL"],
    )
    elapsed = time.monotonic() - began
    assert sent.code == 0, sent.stderr
    assert elapsed >= 2.5
    stored = int(sent.stdout.split()[0])
    systems = httpx2.get(
        f"{os.environ['STOCKPLANE_URL']}/v1/systems", headers={"Authorization": f"Bearer {server['admin']}"}
    )
    assert 0 < sum(s["events"] for s in systems.json()) <= stored  # re-deliveries are stored once
