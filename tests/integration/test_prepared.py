"""Statements compiled once (models/prepared.py), several sent together: ``Prepared.first_each``.

On PostgreSQL they go in one round trip (psycopg's pipeline mode); what callers rely on is that each
answer is the one :meth:`Prepared.first` gives, in the order asked, and that a statement that fails
raises as SQLAlchemy would raise it and leaves the connection usable once rolled back.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Integer, bindparam, cast, select
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

from models.org import Branch
from models.prepared import Prepared

_BRANCH_BY_CODE = Prepared(
    lambda _d: select(col(Branch.id), col(Branch.name_en)).where(col(Branch.code) == bindparam("code"))
)
_AS_NUMBER = Prepared(lambda _d: select(cast(bindparam("text"), Integer)))


def test_several_statements_answer_each_as_one_alone_in_the_order_asked(db, world):
    codes = ["B", "nowhere", "A", "B"]
    with db.raw_write() as conn:
        together = _BRANCH_BY_CODE.first_each(conn, db.dialect, [{"code": c} for c in codes])
        alone = [_BRANCH_BY_CODE.first(conn, db.dialect, {"code": c}) for c in codes]
    assert together == alone
    assert together == [(world.other_branch_id, "Branch B"), None, (world.branch_id, "Branch A"), together[0]]
    with db.raw_write() as conn:
        assert _BRANCH_BY_CODE.first_each(conn, db.dialect, []) == []


def test_a_statement_that_fails_among_several_raises_and_the_connection_goes_on(db):
    if db.dialect.name == "sqlite":
        pytest.skip("SQLite casts any text to a number without an error")
    with pytest.raises(DBAPIError, match="invalid input syntax for type integer"):
        with db.raw_write() as conn:
            _AS_NUMBER.first_each(conn, db.dialect, [{"text": "12"}, {"text": "twelve"}, {"text": "3"}])
    with db.raw_write() as conn:  # the pool's connection, rolled back, answers the next statements
        assert _AS_NUMBER.first_each(conn, db.dialect, [{"text": "12"}, {"text": "3"}]) == [(12,), (3,)]
