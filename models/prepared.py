"""Statements compiled once and run straight on the driver's cursor, for the one hot path.

Every tap at a counter and every ``POST /api/v1/ratings`` runs the same handful of statements. Through
SQLAlchemy each execution rebuilds an execution context, looks the statement up in the compiled
cache and wraps the cursor in a result: on the 2-core benchmark machine that cost several times
what SQLite itself spent (docs/PERFORMANCE.md). A :class:`Prepared` statement is still written with
SQLAlchemy against the models (so its SQL follows the schema and each dialect's rules), compiled
once per dialect, and then executed on the DBAPI connection with the column types' own bind and
result processors, so values are stored and read back exactly as SQLAlchemy would store and read
them. It runs inside whatever transaction the connection is in; it never begins or commits one.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Generator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Boolean
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.expression import Executable

Processor = Callable[[Any], Any]
T = TypeVar("T")
P = ParamSpec("P")

# Entering and leaving psycopg's pipeline mode costs about a round trip: on the 2-core machine, two
# one-row SELECTs took 255 us pipelined and 238 us one after another; four, 318 and 526 us; ten,
# 430 and 1,140 us (docs/PERFORMANCE.md, 2026-12-07 08:15).
PIPELINE_FROM = 3


@dataclass(frozen=True)
class _Form:
    sql: str
    order: tuple[str, ...] | None  # bind names in order for positional drivers, None for named
    defaults: dict[str, Any]  # binds whose values the statement carries itself
    binds: tuple[tuple[str, Processor], ...]  # (name, processor) of binds whose type converts
    results: tuple[Processor | None, ...]  # per selected column
    converted: tuple[tuple[int, Processor], ...]  # (index, processor) of the columns that convert
    pick: Callable[[Mapping[str, Any]], tuple[Any, ...]] | None  # the binds in order (positional)


class Prepared:
    """A statement built by ``build(dialect_name)``, compiled on first use per dialect.

    ``column_keys`` names the columns an INSERT or UPDATE sets (as ``compile(column_keys=...)``).
    """

    def __init__(self, build: Callable[[str], Executable], *, column_keys: list[str] | None = None):
        self._build = build
        self._column_keys = column_keys
        self._forms: dict[str, _Form] = {}

    def _form(self, dialect: Dialect) -> _Form:
        form = self._forms.get(dialect.name)
        if form is None:
            form = self._compile(dialect)
            self._forms[dialect.name] = form
        return form

    def _compile(self, dialect: Dialect) -> _Form:
        stmt: Any = self._build(dialect.name)
        compiled: Any = stmt.compile(dialect=dialect, column_keys=self._column_keys)
        sql = str(compiled.string)
        if "POSTCOMPILE" in sql:  # expanding IN lists and the like need SQLAlchemy at run time
            raise ValueError(f"statement cannot be prepared once: {sql}")
        binds = compiled.binds
        defaults = {name: b.effective_value for name, b in binds.items() if not b.required}
        processors = []
        for name, bind in binds.items():
            if dialect.name == "sqlite" and isinstance(bind.type, Boolean):
                continue  # the driver stores True and False as 1 and 0, what the processor returns
            proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if proc is not None:
                processors.append((name, proc))
        results: tuple[Processor | None, ...] = ()
        if getattr(stmt, "is_select", False) or getattr(stmt, "_returning", ()):
            columns = stmt.selected_columns if getattr(stmt, "is_select", False) else stmt._returning
            results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
        order = tuple(compiled.positiontup) if dialect.positional else None
        converted = tuple((i, p) for i, p in enumerate(results) if p is not None)
        return _Form(sql, order, defaults, tuple(processors), results, converted, _picker(order))

    def execute(self, conn: Any, dialect: Dialect, params: Mapping[str, Any] | None = None) -> Any:
        """Run on ``conn`` (a DBAPI connection, or SQLAlchemy's pool proxy of one); returns the
        driver's cursor."""
        return self._run(conn, dialect, self._forms.get(dialect.name) or self._form(dialect), params)

    @staticmethod
    def _run(conn: Any, dialect: Dialect, form: _Form, params: Mapping[str, Any] | None) -> Any:
        values = {**form.defaults, **(params or {})}
        for name, proc in form.binds:
            values[name] = proc(values[name])
        args = form.pick(values) if form.pick is not None else values
        cursor = conn.cursor()
        try:
            cursor.execute(form.sql, args)
        except dialect.loaded_dbapi.Error as exc:
            cursor.close()
            # As SQLAlchemy raises it (IntegrityError, OperationalError, ...), so callers see one kind.
            raise DBAPIError.instance(form.sql, args, exc, dialect.loaded_dbapi.Error) from exc
        return cursor

    def rows(
        self, conn: Any, dialect: Dialect, params: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """Every row, each value converted as SQLAlchemy would return it."""
        cursor = self.execute(conn, dialect, params)
        try:
            raw = cursor.fetchall()
        finally:
            cursor.close()
        form = self._form(dialect)
        return [_converted(form, r) for r in raw]

    def first(
        self, conn: Any, dialect: Dialect, params: Mapping[str, Any] | None = None
    ) -> tuple[Any, ...] | None:
        """The first row (converted as :meth:`rows` does), or None."""
        form = self._forms.get(dialect.name) or self._form(dialect)
        cursor = self._run(conn, dialect, form, params)
        try:
            raw = cursor.fetchone()
        finally:
            cursor.close()
        return _converted(form, raw) if raw is not None else None

    def first_each(
        self, conn: Any, dialect: Dialect, params: list[Mapping[str, Any]]
    ) -> list[tuple[Any, ...] | None]:
        """:meth:`first` for each of ``params``, in order. On PostgreSQL every statement is sent
        before the first answer is read (psycopg's pipeline mode): one round trip for all of them,
        where :meth:`first` in a loop waits for each in turn (and its thread takes the interpreter
        lock back after each wait), from :data:`PIPELINE_FROM` statements on. Elsewhere, or fewer,
        one after another."""
        if dialect.name != "postgresql" or len(params) < PIPELINE_FROM:
            return [self.first(conn, dialect, p) for p in params]
        form = self._forms.get(dialect.name) or self._form(dialect)
        raws: list[Any] = []
        try:
            with pipelined(conn, dialect):
                cursors = [self._run(conn, dialect, form, p) for p in params]
                try:
                    raws = [cursor.fetchone() for cursor in cursors]
                finally:
                    for cursor in cursors:
                        cursor.close()
        except dialect.loaded_dbapi.Error as exc:  # raised when the pipeline's answers are read
            raise DBAPIError.instance(form.sql, None, exc, dialect.loaded_dbapi.Error) from exc
        return [_converted(form, raw) if raw is not None else None for raw in raws]

    def rowcount(self, conn: Any, dialect: Dialect, params: Mapping[str, Any] | None = None) -> int:
        """Run a statement that returns no rows; how many rows it changed."""
        cursor = self._run(conn, dialect, self._forms.get(dialect.name) or self._form(dialect), params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()


def _converted(form: _Form, raw: Any) -> tuple[Any, ...]:
    """A row as the driver gave it, with the columns that convert converted."""
    if not form.converted:
        return tuple(raw)
    row = list(raw)
    for i, convert in form.converted:
        row[i] = convert(row[i])
    return tuple(row)


def _picker(order: tuple[str, ...] | None) -> Callable[[Mapping[str, Any]], tuple[Any, ...]] | None:
    """The positional driver's argument tuple from the named values (None for a named driver)."""
    if order is None:
        return None
    if not order:
        return lambda _values: ()
    if len(order) == 1:
        only = order[0]
        return lambda values: (values[only],)
    return operator.itemgetter(*order)


def begin(conn: Any, dialect: Dialect) -> None:
    """Open the transaction now, if ``conn`` runs each statement on its own until told (a lazy
    ``rapport.core.db.Database.raw_write`` on PostgreSQL): call it before the first of several
    writes that must commit together. Anywhere else (SQLite, an ORM session's connection, a
    transaction already open) it does nothing."""
    if dialect.name != "postgresql":
        return
    dbapi = _driver(conn)
    if dbapi.autocommit and dbapi.info.transaction_status == _IDLE:
        dbapi.execute("BEGIN")


_IDLE = 0  # libpq's PQTRANS_IDLE: no transaction open


def pipelined(conn: Any, dialect: Dialect) -> AbstractContextManager[Any]:
    """A block whose statements go to PostgreSQL together (psycopg's pipeline mode): each is sent
    when executed, the first answer read waits for every statement sent before it (one round trip
    for all), and leaving the block waits for the rest. In the block a statement's count of rows
    changed (:meth:`Prepared.rowcount`) is not known until an answer after it is read, and a failed
    statement's error is raised then (or on leaving). Elsewhere (SQLite) it does nothing."""
    if dialect.name != "postgresql":
        return nullcontext()
    pipeline: AbstractContextManager[Any] = _driver(conn).pipeline()
    return pipeline


def run_steps(steps: Generator[None, None, T]) -> T:
    """The result of work written in steps (a generator that yields where it waits for an answer
    it has asked for, as :func:`models.intake.take_rating_staged`), run without pausing."""
    try:
        while True:
            next(steps)
    except StopIteration as stop:
        result: T = stop.value
        return result


def in_one_go(staged: Callable[P, Generator[None, None, T]]) -> Callable[P, T]:
    """The function that runs ``staged`` (work written in steps) without pausing: :func:`run_steps`
    of its generator, for the callers that have nothing to do while it waits."""

    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return run_steps(staged(*args, **kwargs))

    run.__doc__ = f"{staged.__name__}, run in one go (models.prepared.in_one_go)."
    return run


def _driver(conn: Any) -> Any:
    """The driver's connection: ``conn`` itself, or the one under SQLAlchemy's pool proxy."""
    return conn.dbapi_connection if isinstance(conn, PoolProxiedConnection) else conn


def driver_of(session: Any) -> tuple[Any, Dialect]:
    """The DBAPI connection (SQLAlchemy's pool proxy of it) under an ORM session, in the session's
    transaction (begun here if it has not been), and its dialect."""
    conn = session.connection()
    return conn.connection, conn.dialect
