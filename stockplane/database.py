"""The database: one engine per process, sessions per request or job, typed models.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy timeout,
so concurrent writers queue instead of failing; PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

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
    bindparam,
    create_engine,
    event,
    insert,
    or_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeEngine

from .errors import AppError

__all__ = [
    "Base",
    "Contended",
    "Contention",
    "Database",
    "UtcDateTime",
    "insert_new_rows",
    "insert_rows",
    "normalise_url",
    "update_rows",
    "upsert",
]

log = logging.getLogger("stockplane.database")
T = TypeVar("T")
Combine = Literal["add", "or"]

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


def _copy_rows(
    connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *, into: Any = None
) -> None:
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
    name = into if into is not None else _identifier(table)
    columns = sql.SQL(", ").join(sql.Identifier(key) for key, _ in plan)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(name, columns)
    driver = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row([row[key] if convert is None else convert(row[key]) for key, convert in plan])
    except psycopg.IntegrityError as exc:
        raise IntegrityError(statement.as_string(driver), None, exc) from exc


def update_rows(
    session: Session,
    model: type[DeclarativeBase],
    rows: Sequence[Mapping[str, Any]],
    *,
    combine: Mapping[str, Combine] | None = None,
    locked: bool = False,
) -> None:
    """Update many rows by primary key (each row holds the key and the same columns).

    ``combine`` names the columns whose new value is folded into the stored one in the
    database (``"add"``: ``n = n + :d``; ``"or"``: ``flag = flag OR :f``) instead of
    replacing it, so concurrent writers never lose each other's increments. Rows are
    locked in key order, whatever order the caller gives them in, so two writers
    updating overlapping rows queue instead of deadlocking.

    PostgreSQL: the rows are locked with one ``SELECT ... ORDER BY key FOR UPDATE`` (unless
    the caller says it holds their locks already: ``locked``), then
    written with one ``UPDATE ... FROM unnest(...)`` with a column of values per array (as
    row by row statements, it kept the server busy for most of a re-run import). Others:
    one ``executemany`` in key order.
    """
    if not rows:
        return
    table: Table = model.__table__  # type: ignore[assignment]
    (key,) = (column.name for column in table.primary_key.columns)
    rows = sorted(rows, key=lambda row: row[key])
    combine = combine or {}
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _update_from_arrays(connection, table, rows, combine, lock=not locked)
        return
    values: dict[str, Any] = {}
    for name in rows[0]:
        if name == key:
            continue
        column, parameter = table.c[name], bindparam(f"new_{name}", type_=table.c[name].type)
        how = combine.get(name)
        values[name] = column + parameter if how == "add" else or_(column, parameter) if how else parameter
    statement = update(table).where(table.c[key] == bindparam(f"new_{key}")).values(values)
    session.execute(statement, [{f"new_{name}": value for name, value in row.items()} for row in rows])


def _arrays(
    connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> tuple[list[str], list[list[Any]], list[Any]]:
    """The rows as one array per column, for ``unnest``, and each array's SQL type."""
    from psycopg import sql

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
    return names, arrays, typed


def _identifier(table: Table) -> Any:
    from psycopg import sql

    return sql.Identifier(table.schema, table.name) if table.schema else sql.Identifier(table.name)


def insert_new_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]], key: str) -> set[Any]:
    """Insert the rows whose ``key`` (a unique column) is not stored yet; returns the keys
    inserted. A row another transaction is inserting at the same moment waits for it to
    commit and is then skipped, so concurrent writers of overlapping rows never fail.

    PostgreSQL: ``COPY`` into a scratch table, then one ``INSERT ... SELECT ... ORDER BY key
    ON CONFLICT DO NOTHING RETURNING key``; in key order, so two such inserts queue instead
    of deadlocking. SQLite: :func:`insert_rows`, every key returned; SQLite writers hold the
    database's write lock (:meth:`Database.session` with ``write``), so a caller that has
    just looked finds no conflict, and any conflict still raises ``IntegrityError``.
    """
    if not rows:
        return set()
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        insert_rows(session, table, rows)
        return {row[key] for row in rows}
    from psycopg import sql

    # COPY into a scratch table dropped at commit, then one INSERT ... SELECT in key order
    # (an INSERT from unnest(...) arrays took four times as long as COPY for big batches)
    names = list(rows[0])
    columns = sql.SQL(", ").join(map(sql.Identifier, names))
    scratch = sql.Identifier(f"incoming_{table.name}")
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(
            sql.SQL(
                "CREATE TEMPORARY TABLE IF NOT EXISTS {scratch} ON COMMIT DROP AS "
                "SELECT {columns} FROM {table} WITH NO DATA"
            ).format(scratch=scratch, columns=columns, table=_identifier(table))
        )
        cursor.execute(sql.SQL("TRUNCATE {scratch}").format(scratch=scratch))
    _copy_rows(connection, table, rows, into=scratch)
    statement = sql.SQL(
        "INSERT INTO {table} ({columns}) SELECT {columns} FROM {scratch} "
        "ORDER BY {key} ON CONFLICT ({key}) DO NOTHING RETURNING {key}"
    ).format(table=_identifier(table), columns=columns, scratch=scratch, key=sql.Identifier(key))
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(statement)
        return {inserted for (inserted,) in cursor.fetchall()}


def _update_from_arrays(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    combine: Mapping[str, Combine],
    *,
    lock: bool,
) -> None:
    from psycopg import sql

    (key,) = (column.name for column in table.primary_key.columns)
    names, arrays, typed = _arrays(connection, table, rows)
    target = _identifier(table)
    operators = {"add": sql.SQL("{table}.{0} + v.{0}"), "or": sql.SQL("{table}.{0} OR v.{0}")}
    lock_rows = sql.SQL("SELECT 1 FROM {table} WHERE {key} = ANY(%s) ORDER BY {key} FOR UPDATE").format(
        table=target, key=sql.Identifier(key)
    )
    statement = sql.SQL(
        "UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v ({columns}) WHERE {table}.{key} = v.{key}"
    ).format(
        table=target,
        assignments=sql.SQL(", ").join(
            sql.SQL("{0} = ").format(sql.Identifier(n))
            + operators.get(combine.get(n, ""), sql.SQL("v.{0}")).format(sql.Identifier(n), table=target)
            for n in names
            if n != key
        ),
        arrays=sql.SQL(", ").join(typed),
        columns=sql.SQL(", ").join(map(sql.Identifier, names)),
        key=sql.Identifier(key),
    )
    with connection.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
        if lock:
            cursor.execute(lock_rows, [arrays[names.index(key)]])
        cursor.execute(statement, arrays)


def upsert(session: Session, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An ``INSERT`` that can take ``ON CONFLICT`` clauses, in the session's dialect."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"stockplane runs on PostgreSQL or SQLite, not {dialect}")


class Contended(Exception):
    """Raised inside a unit of work when another writer got there first (it stored a key
    this one was about to store): the work is right, only its moment was wrong, so
    :meth:`Database.write` runs it again."""


class Contention(AppError):
    """Writers kept colliding past every retry: the caller may safely send the same again."""

    status = 503
    problem = "contention"


# deadlock detected, serialization failure, lock not available
_RETRIED_SQLSTATES = frozenset({"40P01", "40001", "55P03"})


def _transient(exc: BaseException) -> bool:
    """Whether running the same unit of work again may succeed."""
    if isinstance(exc, Contended):
        return True
    if isinstance(exc, DBAPIError):
        if getattr(exc.orig, "sqlstate", None) in _RETRIED_SQLSTATES:
            return True
        return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)
    return False


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
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A unit of work: committed when the block succeeds, rolled back otherwise.

        ``write`` says the work will write what it reads: SQLite then takes its write lock
        at once (``BEGIN IMMEDIATE``), so the reads are never stale by the time the writes
        come; a deferred transaction would read, then fail to upgrade.
        """
        session = self.sessions()
        try:
            if write and self.engine.dialect.name == "sqlite":
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def write(self, work: Callable[[Session], T], *, attempts: int = 8) -> T:
        """Run ``work`` in a unit of work of its own, again (after a short randomised
        pause) when it collides with another writer: a deadlock, a serialization failure,
        a key taken by a concurrent insert, SQLite's lock. Past ``attempts``, raise
        :class:`Contention`, which tells the caller to send the same request again; a
        collision is never anyone's error."""
        for attempt in range(1, attempts + 1):
            try:
                with self.session(write=True) as session:
                    return work(session)
            except Exception as exc:
                if not _transient(exc):
                    raise
                log.info("write collided with another (attempt %d of %d): %s", attempt, attempts, exc)
                time.sleep(random.uniform(0, min(0.02 * 2**attempt, 1.0)))
        raise Contention(
            f"the database stayed busy with concurrent writers through {attempts} attempts; "
            "nothing was stored, send the same request again",
            retry_after=1,
        )

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
