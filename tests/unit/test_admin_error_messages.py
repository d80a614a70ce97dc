"""The admin screens' one exception-to-message mapper (issue 17): admin/screens/errors.py."""

from __future__ import annotations

import logging

import pytest

from admin.screens.errors import message_for
from models.auth import SessionExpired
from models.complaint import InvalidTransition
from models.errors import (
    ConflictOfInterest,
    Forbidden,
    IdempotencyConflict,
    NotFound,
    StaffNotFound,
    ValidationFailed,
)
from models.extensions import ExtensionRefused
from models.sanction import LedgerStepRefused

SCREEN = logging.getLogger("admin.screens.some_screen")


def _logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("admin.screens")]


def test_forbidden_and_a_conflict_of_interest_say_forbidden_without_logging(caplog):
    caplog.set_level(logging.DEBUG)
    assert message_for(Forbidden(), log=SCREEN) == ("admin.error.forbidden", {})
    assert message_for(ConflictOfInterest(), log=SCREEN) == ("admin.error.forbidden", {})
    assert _logged(caplog) == []


@pytest.mark.parametrize(
    "exc",
    [
        NotFound(),
        StaffNotFound(),
        ValidationFailed("note", "no note"),
        InvalidTransition(),
        IdempotencyConflict(),
        LedgerStepRefused(),
        RuntimeError("boom"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_what_no_screen_names_is_logged_once_and_shown_as_the_generic_message(caplog, exc):
    caplog.set_level(logging.DEBUG)
    assert message_for(exc, log=SCREEN, failed="admin: %s failed", args=("a step",)) == (
        "admin.error.generic",
        {},
    )
    records = _logged(caplog)
    assert len(records) == 1
    (record,) = records
    assert record.name == "admin.screens.some_screen"  # the screen's own logger
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "admin: a step failed"
    assert record.exc_info is not None and record.exc_info[1] is exc  # log.exception: with the traceback


def test_an_unknown_exception_is_logged_with_log_exception_even_outside_an_except_block(caplog):
    caplog.set_level(logging.DEBUG)
    try:
        raise KeyError("x")
    except KeyError as caught:
        exc = caught
    assert message_for(exc) == ("admin.error.generic", {})
    (record,) = [r for r in caplog.records if r.exc_info]
    assert record.exc_info is not None and record.exc_info[1] is exc
    assert "Traceback" in caplog.text


def test_a_screen_may_name_its_own_generic_message_and_it_is_still_logged(caplog):
    caplog.set_level(logging.DEBUG)
    assert message_for(RuntimeError(), log=SCREEN, generic="rules.generic") == ("rules.generic", {})
    assert len(_logged(caplog)) == 1


def test_the_screens_own_cases_come_first_and_are_not_logged(caplog):
    caplog.set_level(logging.DEBUG)
    own = {
        StaffNotFound: "documents.error.staff_gone",
        NotFound: "admin.people.error.gone",
        Forbidden: "admin.people.error.forbidden",
        InvalidTransition: "admin.error.invalid",
        IdempotencyConflict: "admin.hotline.error.conflict",
        LedgerStepRefused: "admin.ledger.error.step",
    }
    assert message_for(Forbidden(), own, log=SCREEN) == ("admin.people.error.forbidden", {})
    assert message_for(ConflictOfInterest(), own, log=SCREEN) == ("admin.people.error.forbidden", {})
    assert message_for(NotFound(), own, log=SCREEN) == ("admin.people.error.gone", {})
    assert message_for(StaffNotFound(), own, log=SCREEN) == ("documents.error.staff_gone", {})
    assert message_for(InvalidTransition(), own, log=SCREEN) == ("admin.error.invalid", {})
    assert message_for(IdempotencyConflict(), own, log=SCREEN) == ("admin.hotline.error.conflict", {})
    assert message_for(LedgerStepRefused(), own, log=SCREEN) == ("admin.ledger.error.step", {})
    assert _logged(caplog) == []


def test_the_first_matching_case_wins_as_the_except_clauses_did():
    """A subclass listed before its base is found first; listed after, the base catches it."""
    refused = ExtensionRefused("all_used", "no more")
    subclass_first = {ExtensionRefused: lambda e: f"admin.ext.error.{e.reason}", ValidationFailed: "x"}
    base_first = {ValidationFailed: "admin.ext.error.reason", ExtensionRefused: "never"}
    assert message_for(refused, subclass_first) == ("admin.ext.error.all_used", {})
    assert message_for(ValidationFailed("reason", "empty"), subclass_first) == ("x", {})
    assert message_for(refused, base_first) == ("admin.ext.error.reason", {})


def test_a_screens_forbidden_case_replaces_the_common_one_but_not_the_rest(caplog):
    caplog.set_level(logging.DEBUG)
    own = {NotFound: "admin.ledger.error.gone"}
    assert message_for(Forbidden(), own, log=SCREEN) == ("admin.error.forbidden", {})
    assert message_for(RuntimeError(), own, log=SCREEN) == ("admin.error.generic", {})
    assert len(_logged(caplog)) == 1


def test_a_session_that_ended_is_never_a_message_nor_logged(caplog):
    """app.call has already sent the user to sign in: the screen catches SessionExpired first and
    stops; handed one anyway, the mapper raises it again rather than show or log anything."""
    caplog.set_level(logging.DEBUG)
    ended = SessionExpired()
    with pytest.raises(SessionExpired) as raised:
        message_for(ended, {Exception: "never"}, log=SCREEN)
    assert raised.value is ended
    assert _logged(caplog) == []


def test_each_call_gets_its_own_values():
    first = message_for(Forbidden())[1]
    first["x"] = 1
    assert message_for(Forbidden())[1] == {}
