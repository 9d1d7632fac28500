"""The database: one engine per process, sessions per request or job, typed models.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy timeout,
so concurrent writers queue instead of failing; PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import orjson
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
    create_engine,
    event,
    insert,
    update,
)
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeEngine

__all__ = ["Base", "Database", "UtcDateTime", "insert_rows", "normalise_url", "update_rows"]

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite forgets the
    offset; PostgreSQL keeps it), so Python code never compares naive with aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _sqlite_timestamp(value: dt.datetime | None) -> str | None:
    """A timestamp as SQLAlchemy stores it in SQLite (UTC, no offset, microseconds), made
    in C by ``isoformat`` rather than by a per-field ``%`` format."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(dt.UTC).isoformat(" ", "microseconds")[:26]


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


Converter = Callable[[Any], Any] | None


def _sqlite_converter(column_type: TypeEngine[Any], dialect: Dialect) -> Converter:
    if isinstance(column_type, UtcDateTime):
        return _sqlite_timestamp
    if isinstance(column_type, JSON):
        return _json_text
    if isinstance(column_type, String | Integer | Boolean):
        return None  # the sqlite3 module stores these as they are (a bool as 0 or 1)
    return column_type.bind_processor(dialect)  # anything else: SQLAlchemy's own conversion


@lru_cache(maxsize=32)
def _sqlite_insert(
    table: Table, keys: tuple[str, ...], dialect: Dialect
) -> tuple[str, tuple[tuple[str, Converter], ...]]:
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    order = compiled.positiontup or ()
    return compiled.string, tuple((key, _sqlite_converter(table.c[key].type, dialect)) for key in order)


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows (all with the same keys) in the session's transaction, the fastest
    way each database offers, for the hottest writes (events, transaction verdicts).

    SQLite: one ``executemany`` with the rows converted exactly as SQLAlchemy would store
    them (its per-row parameter processing cost more than SQLite's own insert).
    PostgreSQL: ``COPY ... FROM STDIN`` (row by row ``INSERT``s kept the server busy for
    most of an import). Others: SQLAlchemy's ``executemany``. A duplicate key raises
    :class:`sqlalchemy.exc.IntegrityError` on every path.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _copy_rows(connection, table, rows)
        return
    if connection.dialect.name != "sqlite":
        session.execute(insert(table), rows)
        return
    sql, plan = _sqlite_insert(table, tuple(rows[0]), connection.dialect)
    values = [
        tuple(row[key] if convert is None else convert(row[key]) for key, convert in plan) for row in rows
    ]
    connection.exec_driver_sql(sql, values)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value


def _copy_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """PostgreSQL's bulk load: psycopg writes each value in COPY's text format (timestamps
    with their offset, booleans, NULLs); JSON columns get their text, as they would from
    SQLAlchemy, and naive timestamps are refused, as :class:`UtcDateTime` refuses them."""
    import psycopg
    from psycopg import sql

    plan: list[tuple[str, Converter]] = []
    for key in rows[0]:
        column_type = table.c[key].type
        convert = _json_text if isinstance(column_type, JSON) else None
        plan.append((key, _aware if isinstance(column_type, UtcDateTime) else convert))
    name = sql.Identifier(table.schema, table.name) if table.schema else sql.Identifier(table.name)
    columns = sql.SQL(", ").join(sql.Identifier(key) for key, _ in plan)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(name, columns)
    driver = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row([row[key] if convert is None else convert(row[key]) for key, convert in plan])
    except psycopg.IntegrityError as exc:
        raise IntegrityError(statement.as_string(driver), None, exc) from exc


def update_rows(session: Session, model: type[DeclarativeBase], rows: Sequence[Mapping[str, Any]]) -> None:
    """Update many rows by primary key (each row holds the key and the same columns).

    PostgreSQL: one ``UPDATE ... FROM unnest(...)`` with a column of values per array (as
    row by row statements, it kept the server busy for most of a re-run import). Others:
    SQLAlchemy's bulk update by primary key, one ``executemany``.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _update_from_arrays(connection, model.__table__, rows)  # type: ignore[arg-type]
    else:
        session.execute(update(model), rows)


def _update_from_arrays(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    from psycopg import sql

    (key,) = (column.name for column in table.primary_key.columns)
    names = list(rows[0])
    arrays = []
    for name in names:
        column_type = table.c[name].type
        convert = (
            _json_text
            if isinstance(column_type, JSON)
            else _aware
            if isinstance(column_type, UtcDateTime)
            else None
        )
        arrays.append([row[name] if convert is None else convert(row[name]) for row in rows])
    # the types come from our own models, compiled by SQLAlchemy for PostgreSQL
    typed = [
        sql.SQL("%s::{}[]").format(sql.SQL(table.c[n].type.compile(dialect=connection.dialect)))
        for n in names
    ]
    statement = sql.SQL(
        "UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v ({columns}) WHERE {table}.{key} = v.{key}"
    ).format(
        table=sql.Identifier(table.schema, table.name) if table.schema else sql.Identifier(table.name),
        assignments=sql.SQL(", ").join(
            sql.SQL("{0} = v.{0}").format(sql.Identifier(n)) for n in names if n != key
        ),
        arrays=sql.SQL(", ").join(typed),
        columns=sql.SQL(", ").join(map(sql.Identifier, names)),
        key=sql.Identifier(key),
    )
    with connection.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(statement, arrays)


class Base(DeclarativeBase):
    """Base of every model; constraint names are stable so migrations can refer to them."""

    metadata = MetaData(naming_convention=_NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (SQLAlchemy would pick psycopg2)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = _make_engine(self.url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block succeeds, rolled back otherwise."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the pool: a one-shot command leaves no connection behind for the server."""
        self.dispose()


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # psycopg prepares a statement after its fifth run, and PostgreSQL may then keep a
        # generic plan chosen while the tables were small: the lookups of an import by
        # `IN (...)` turned into scans that grew with the store. Plan every run instead.
        return create_engine(url, pool_pre_ping=True, connect_args={"prepare_threshold": None})
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine
