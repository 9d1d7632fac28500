"""`stockplane ingest`, `trace sweep` on the local database; `trace list/show` against a server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pytest

from stockplane.settings import get_settings
from tests.tracing.test_api import envelope, sale


@pytest.fixture
def local_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> Path:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("STOCKPLANE_DATABASE_URL", f"sqlite:///{tmp_path}/stockplane.db")
    get_settings.cache_clear()
    assert cli("db", "upgrade").code == 0
    return tmp_path


def write(path: Path, events: list, *extra_lines: bytes) -> Path:
    path.write_bytes(b"\n".join([*(orjson.dumps(e) for e in events), *extra_lines]) + b"\n")
    return path


def test_ingest_a_file_is_safe_to_rerun(cli, local_db: Path) -> None:  # type: ignore[no-untyped-def]
    events = [*sale("file-1", complete=True), *sale("file-2", complete=False)]
    path = write(local_db / "pos.jsonl", events)
    first = cli("ingest", path)
    assert first.code == 0, first.stderr
    assert first.stdout.strip() == "7 stored, 0 already stored, 0 rejected"
    again = cli("ingest", path, "--batch", "2")
    assert again.stdout.strip() == "0 stored, 7 already stored, 0 rejected"


def test_ingest_reports_bad_lines_with_their_numbers(cli, local_db: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(
        local_db / "erp.jsonl", sale("file-3", complete=False), b"{broken", orjson.dumps({"event_id": "only"})
    )
    result = cli("ingest", path)
    assert result.code == 1
    assert "2 stored, 0 already stored, 2 rejected" in result.stdout
    assert "line 3: not JSON" in result.stderr
    assert "line 4: /: 'correlation_id' is a required property" in result.stderr
    assert cli("ingest", local_db / "missing.jsonl").code == 2


def test_sweep_marks_overdue_transactions_stalled(cli, local_db: Path) -> None:  # type: ignore[no-untyped-def]
    from policies import load_pack
    from stockplane.database import Database
    from tracing.ingest import ingest
    from tracing.jobs import sweep_stalled
    from tracing.models import TransactionRecord

    database = Database(f"sqlite:///{local_db}/stockplane.db")
    pack = load_pack()
    now = dt.datetime.now(dt.UTC)
    with database.session() as session:
        ingest(session, sale("overdue", complete=False), pack=pack, now=now)
        assert session.get(TransactionRecord, "overdue").state == "in_progress"
    with database.session() as session:
        assert sweep_stalled(session, pack=pack, now=now + dt.timedelta(hours=1), batch=1) == 1
    with database.session() as session:
        assert session.get(TransactionRecord, "overdue").state == "stalled"
    assert "0 transaction(s) changed state" in cli("trace", "sweep").stdout  # already stalled
    database.dispose()


def test_trace_list_and_show_against_the_server(
    cli, server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    failing = sale("srv-err", complete=False)
    failing[1].update(status="dead_letter", error={"code": "Q-7", "message": "poison message"})
    path = write(
        tmp_path / "events.jsonl", [*failing, envelope("srv-orphan", "inventory.adjusted", "erp", 5)]
    )
    monkeypatch.setenv("STOCKPLANE_API_KEY", server["admin"])
    get_settings.cache_clear()
    url = get_settings().url
    assert cli("ingest", path, "--url", url).code == 0
    listing = cli("trace", "list", "--state", "failed", "--since", "1h")
    assert "srv-err" in listing.stdout and "srv-orphan" not in listing.stdout
    shown = cli("trace", "show", "srv-err").stdout
    assert (
        "[failed]" in shown
        and "dead_letter erp-1" in shown  # the status, then the instance that sent it
        and "Q-7" in shown
        and "missing: availability.published from ecommerce" in shown
        and "missing: availability.published from marketplace-a, marketplace-b" in shown
    )
    assert "orphan" in cli("trace", "show", "srv-orphan").stdout
    assert cli("trace", "list", "--since", "soon").code == 2


def test_the_documented_example_file(cli, local_db: Path) -> None:  # type: ignore[no-untyped-def]
    """docs/tracing.md: the example events give one completed, one failed and one stalled
    transaction (the lone sale is hours old, so it is stalled as soon as it is stored)."""
    from stockplane.database import Database
    from tests.conftest import REPO_ROOT
    from tracing.models import TransactionRecord

    example = REPO_ROOT / "docs" / "examples" / "tracing" / "events.jsonl"
    assert cli("ingest", example).stdout.strip() == "8 stored, 0 already stored, 0 rejected"
    assert cli("ingest", example).stdout.strip() == "0 stored, 8 already stored, 0 rejected"
    database = Database(f"sqlite:///{local_db}/stockplane.db")
    with database.session() as session:
        states = {r.correlation_id: r.state for r in session.query(TransactionRecord)}
        failure = session.get(TransactionRecord, "order-7781").failure
    database.dispose()
    assert states == {"sale-0042-001": "completed", "order-7781": "failed", "sale-0042-002": "stalled"}
    assert failure == "inventory.reserved from oms reported dead_letter (OMS-409)"
