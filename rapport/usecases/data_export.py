"""`rapport export`: every table as portable JSON lines, without secrets and without contact data.

The file is UTF-8 JSON lines. The first line describes the export::

    {"format": "rapport-export", "version": 1, "exported_at": "...Z", "schema_revision": "...",
     "omitted_tables": {"login_session": "why", ...}, "omitted_columns": {"staff.password_hash": "why"}}

then one line per row, tables in dependency order (a row's references come before it)::

    {"table": "branch", "row": {"id": 1, "code": "BJ-RM", ...}}

and a last line with the row count of each table, so a truncated file is recognisable::

    {"end": true, "tables": {"branch": 2, ...}}

Times are ISO 8601 in UTC, ids of ratings are UUID strings, JSON columns stay JSON.

What is left out is decided per column and **fails closed**: besides the tables and columns named
below, any column whose name looks like a secret or contact data (hash, secret, token, digest,
password, pin, contact, phone, email, key) is left out unless it is on the short list of columns
known to be harmless (audit chain hashes, request fingerprints, idempotency and dedupe keys, the kind
of contact given). A table added later with such a column therefore leaks nothing by default.
Free text (rating comments, complaint descriptions and notes) is exported as written: a customer
may have typed anything there, so treat the file as personal data.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TextIO

from sqlalchemy import Table, select
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table)
from models.clock import utcnow
from rapport.core.db import Database

EXPORT_FORMAT = "rapport-export"
EXPORT_VERSION = 1
ROWS_PER_FETCH = 2000

OMITTED_TABLES = {
    "login_session": "sign-in sessions (token digests)",
    "totp_secret": "second-factor (TOTP) secrets",
    "enrolment_code": "one-time tablet enrolment codes (digests)",
    "throttle": "sign-in throttling counters (keyed by login names)",
}
OMITTED_COLUMNS = {
    ("staff", "password_hash"): "password hashes",
    ("staff", "pin_hash"): "counter PIN hashes",
    ("staff", "qr_token"): "badge link tokens (whoever holds one can rate as that badge)",
    ("device", "token_digest"): "device API token digests",
    ("complaint", "contact"): "customer contact data (phone number or e-mail)",
    ("complaint", "code_digest"): "complaint tracking code digests",
    ("rating", "phone_key"): "digest of the customer's phone id",
    ("service_transaction", "invitation_code"): "receipt link codes (their holder can rate that transaction)",
}
_SECRET_LIKE = re.compile(r"hash|secret|token|digest|password|pin|contact|phone|e_?mail|key")
HARMLESS_COLUMNS = frozenset(
    {
        ("audit_event", "prev_hash"),  # the audit chain: needed to verify it
        ("audit_event", "hash"),
        ("rating", "request_hash"),  # fingerprints of the request body, to tell retries apart
        ("complaint", "request_hash"),
        ("rating", "idempotency_key"),
        ("complaint", "idempotency_key"),
        ("service_transaction", "request_hash"),
        ("service_transaction", "idempotency_key"),
        ("alert", "dedupe_key"),
        ("sanction", "dedupe_key"),
        ("complaint", "contact_kind"),  # "phone" or "email", not the contact itself
        ("complaint", "contact_erase_after"),
    }
)


@dataclass(frozen=True)
class ExportResult:
    rows: dict[str, int]
    omitted_tables: dict[str, str]
    omitted_columns: dict[str, str]


def exported_columns(table: Table) -> tuple[list[str], dict[str, str]]:
    """The columns of ``table`` that go into the export, and those left out with the reason."""
    keep: list[str] = []
    left_out: dict[str, str] = {}
    for column in table.columns:
        key = (table.name, column.name)
        if key in OMITTED_COLUMNS:
            left_out[f"{table.name}.{column.name}"] = OMITTED_COLUMNS[key]
        elif _SECRET_LIKE.search(column.name) and key not in HARMLESS_COLUMNS:
            left_out[f"{table.name}.{column.name}"] = "looks like a secret or contact data"
        else:
            keep.append(column.name)
    return keep, left_out


def export_data(db: Database, out: TextIO, *, now: datetime | None = None) -> ExportResult:
    """Write the export to ``out`` from one consistent snapshot of the database.

    On SQLite one read transaction sees one snapshot; on PostgreSQL the transaction is REPEATABLE
    READ for the same reason. Rows are fetched in batches, so memory stays flat on large databases.
    """
    from alembic.runtime.migration import MigrationContext

    tables = [t for t in SQLModel.metadata.sorted_tables if t.name not in OMITTED_TABLES]
    plans = {t.name: exported_columns(t) for t in tables}
    omitted_columns = {k: v for _keep, left_out in plans.values() for k, v in left_out.items()}
    rows: dict[str, int] = {}
    options: dict[str, Any] = {"yield_per": ROWS_PER_FETCH}
    if db.engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    with db.engine.connect() as conn, conn.execution_options(**options).begin():
        header = {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "exported_at": _json_value(now or utcnow()),
            "schema_revision": MigrationContext.configure(conn).get_current_revision(),
            "omitted_tables": OMITTED_TABLES,
            "omitted_columns": omitted_columns,
            "note": "free text (comments, descriptions, notes) is as written and may hold personal data",
        }
        _line(out, header)
        for table in tables:
            names = plans[table.name][0]
            count = 0
            for row in _rows(conn, table, names):
                _line(out, {"table": table.name, "row": row})
                count += 1
            rows[table.name] = count
    _line(out, {"end": True, "tables": rows})
    return ExportResult(rows=rows, omitted_tables=dict(OMITTED_TABLES), omitted_columns=omitted_columns)


def _rows(conn: Any, table: Table, names: list[str]) -> Iterator[dict[str, Any]]:
    columns = [table.c[n] for n in names]
    order = list(table.primary_key.columns) or columns[:1]
    result = conn.execute(select(*columns).order_by(*order))
    for values in result:
        yield {n: _json_value(v) for n, v in zip(names, values, strict=True)}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # columns without UTCDateTime hold naive UTC too
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def _line(out: TextIO, obj: dict[str, Any]) -> None:
    out.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str))
    out.write("\n")
