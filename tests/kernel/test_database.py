"""insert_rows: the driver-level executemany must store exactly what SQLAlchemy stores."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    create_engine,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import DeclarativeBase, Session

from stockplane.database import UtcDateTime, insert_rows, update_rows

_METADATA = MetaData()
_THINGS = Table(
    "thing",
    _METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String(20)),
    Column("note", Text, nullable=True),
    Column("at", UtcDateTime),
    Column("maybe_at", UtcDateTime, nullable=True),
    Column("flag", Boolean),
    Column("tags", JSON),
    Column("amount", Numeric(10, 2)),  # no fast conversion: SQLAlchemy's own processor runs
)

_PARIS = dt.timezone(dt.timedelta(hours=1))
_ROWS: list[dict[str, Any]] = [
    {
        "name": "utc",
        "note": None,
        "at": dt.datetime(2026, 11, 28, 12, 0, 0, 5, tzinfo=dt.UTC),
        "maybe_at": None,
        "flag": True,
        "tags": ["a", "b"],
        "amount": Decimal("1.50"),
    },
    {
        "name": "offset",
        "note": "x",
        "at": dt.datetime(2026, 11, 28, 13, 30, tzinfo=_PARIS),  # whole second, not UTC
        "maybe_at": dt.datetime(1999, 1, 2, 3, 4, 5, 999999, tzinfo=dt.UTC),
        "flag": False,
        "tags": {"k": [1, None]},
        "amount": Decimal("0"),
    },
]


def _stored(session: Session) -> list[tuple[Any, ...]]:
    """The rows as the driver returns them: the text SQLite holds, JSON parsed."""
    raw = session.connection().exec_driver_sql("SELECT * FROM thing ORDER BY id").all()
    return [tuple(orjson.loads(v) if i == 6 else v for i, v in enumerate(row)) for row in raw]


def test_sqlite_rows_match_what_sqlalchemy_stores() -> None:
    stored = []
    for write in (
        lambda session: session.execute(insert(_THINGS), _ROWS),
        lambda session: insert_rows(session, _THINGS, _ROWS),
    ):
        engine = create_engine("sqlite://")
        _METADATA.create_all(engine)
        with Session(engine) as session:
            write(session)
            stored.append(_stored(session))
            assert session.execute(select(_THINGS.c.at).order_by(_THINGS.c.id)).scalars().all() == [
                row["at"] for row in _ROWS
            ]
    assert stored[0] == stored[1]
    assert stored[1][1][3] == "2026-11-28 12:30:00.000000"  # converted to UTC, microseconds kept


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    """A session on the test table, in a fresh SQLite file or PostgreSQL schema."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    _METADATA.create_all(engine)
    try:
        with Session(engine) as session:
            yield session
    finally:
        _METADATA.drop_all(engine)
        engine.dispose()


def test_naive_timestamps_are_refused_on_every_database(session: Session) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        insert_rows(session, _THINGS, [{**_ROWS[0], "at": dt.datetime(2026, 1, 1)}])


def test_rows_round_trip_on_every_database(session: Session) -> None:
    """Other databases take SQLAlchemy's path; what comes back is what went in."""
    insert_rows(session, _THINGS, _ROWS)
    insert_rows(session, _THINGS, [])  # nothing to do, no error
    got = session.execute(select(_THINGS).order_by(_THINGS.c.id)).mappings().all()
    assert [{k: v for k, v in row.items() if k != "id"} for row in got] == _ROWS


def test_a_duplicate_key_is_an_integrity_error_on_every_database(session: Session) -> None:
    """The import turns it into "send the batch again"; no path may let it through."""
    insert_rows(session, _THINGS, [{**_ROWS[0], "id": 7}])
    with pytest.raises(IntegrityError):
        insert_rows(session, _THINGS, [{**_ROWS[1], "id": 8}, {**_ROWS[0], "id": 7}])
    session.rollback()
    assert session.execute(select(_THINGS.c.id)).scalars().all() == []  # nothing half-written


class _Model(DeclarativeBase):
    pass


class _Thing(_Model):
    __table__ = _THINGS


def test_update_rows_by_primary_key_on_every_database(session: Session) -> None:
    """PostgreSQL updates from arrays in one statement; what is stored must be the same."""
    insert_rows(session, _THINGS, [{**row, "id": n} for n, row in enumerate(_ROWS, start=1)])
    changed = [
        {"id": 1, "flag": False, "tags": {"k": "v"}, "at": dt.datetime(2027, 1, 1, tzinfo=_PARIS)},
        {"id": 2, "flag": True, "tags": None, "at": dt.datetime(2027, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)},
    ]
    update_rows(session, _Thing, changed)
    update_rows(session, _Thing, [])
    got = session.execute(select(_THINGS.c.id, _THINGS.c.flag, _THINGS.c.tags, _THINGS.c.at)).all()
    assert sorted(got) == [
        (1, False, {"k": "v"}, dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.UTC)),
        (2, True, None, dt.datetime(2027, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)),
    ]
    names = session.execute(select(_THINGS.c.name).order_by(_THINGS.c.id)).scalars().all()
    assert names == ["utc", "offset"]  # columns not named are left alone
    # SQLAlchemy's path wraps the ValueError in a StatementError
    with pytest.raises((ValueError, StatementError), match="timezone-aware"):
        update_rows(session, _Thing, [{"id": 1, "at": dt.datetime(2027, 1, 1)}])
