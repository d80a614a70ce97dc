"""Day-based deadlines on China's calendar (models/workdays.py) and the clocks a policy builds from
them (models/complaint/ clocks): the worked examples of the 民法典 rule, then properties."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from models.complaint import Severity, clocks
from models.policy import PolicyValues
from models.presets import PRESETS
from models.sla import BusinessHours, add_business_hours, format_weekly, parse_weekly
from models.workdays import NoWorkingDay, WorkCalendar, day_deadline, last_day

SH = ZoneInfo("Asia/Shanghai")


def span(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# The State Council's 2026 notice (国办发明电〔2025〕7号, docs/RULES-CITED.md §3), written out here so
# that these tests check the rule, not the package the calendar is imported from.
HOLIDAYS_2026 = [
    *span(date(2026, 1, 1), date(2026, 1, 3)), *span(date(2026, 2, 15), date(2026, 2, 23)),
    *span(date(2026, 4, 4), date(2026, 4, 6)), *span(date(2026, 5, 1), date(2026, 5, 5)),
    *span(date(2026, 6, 19), date(2026, 6, 21)), *span(date(2026, 9, 25), date(2026, 9, 27)),
    *span(date(2026, 10, 1), date(2026, 10, 7)),
]  # fmt: skip
MAKEUP_2026 = [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9),
               date(2026, 9, 20), date(2026, 10, 10)]  # fmt: skip
CAL_2026 = WorkCalendar.of(holidays=HOLIDAYS_2026, workdays=MAKEUP_2026)

HALL = PolicyValues.model_validate(PRESETS["hall"])
BANK = PolicyValues.model_validate(PRESETS["bank"])


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def hall_due(start: datetime) -> datetime:
    return clocks(start, Severity.normal, HALL, tz="Asia/Shanghai", calendar=CAL_2026).due_at


# --- the worked examples of the issue -----------------------------------------------------------


def test_five_working_days_from_monday_afternoon_end_next_monday_at_close():
    assert hall_due(at(2026, 11, 30, 16, 0)) == at(2026, 12, 7, 17, 0)


def test_national_day_is_skipped_and_its_make_up_saturday_counts():
    # 1–7 October off; Thursday 8 and Friday 9 are days 1 and 2, Saturday 10 (调休) day 3,
    # Monday 12 day 4 and Tuesday 13 day 5.
    assert hall_due(at(2026, 9, 30, 10, 0)) == at(2026, 10, 13, 17, 0)


def test_fifteen_calendar_days_ending_on_a_holiday_end_on_the_first_working_day_after_it():
    # Day 1 is 18 September; day 15 is 2 October, a holiday, so the period ends on 8 October, 24:00.
    due = clocks(at(2026, 9, 17, 10, 0), Severity.normal, BANK, tz="Asia/Shanghai", calendar=CAL_2026)
    assert due.due_at == at(2026, 10, 9, 0, 0)
    assert (due.unit, due.amount, due.first_contact_due_at) == ("calendar_days", 15, None)


def test_the_hall_preset_also_sets_a_first_contact_clock_of_one_working_day():
    filed_friday_evening = at(2026, 9, 18, 18, 30)
    first = clocks(filed_friday_evening, Severity.high, HALL, tz="Asia/Shanghai", calendar=CAL_2026)
    # Saturday 19 is a weekend, Sunday 20 September a make-up working day: that is day 1.
    assert first.first_contact_due_at == at(2026, 9, 20, 17, 0)
    assert (first.unit, first.amount) == ("working_days", 5)


def test_a_period_starts_the_day_after_the_event_whatever_the_hour():
    for hour in (0, 9, 16, 23):
        assert last_day(date(2026, 11, 30), 1, counting="working_days", calendar=CAL_2026) == date(
            2026, 12, 1
        )
        assert hall_due(at(2026, 11, 30, hour, 0)) == at(2026, 12, 7, 17, 0)


def test_a_calendar_day_period_ending_on_a_weekend_moves_to_monday_but_not_when_it_is_a_make_up_day():
    assert last_day(date(2026, 11, 20), 15, counting="calendar_days", calendar=CAL_2026) == date(2026, 12, 7)
    # 5 + 15 = Sunday 20 September, a make-up working day: the period ends that day.
    assert last_day(date(2026, 9, 5), 15, counting="calendar_days", calendar=CAL_2026) == date(2026, 9, 20)


def test_close_of_business_is_that_days_own_closing_and_24_00_is_the_next_midnight():
    hours = BusinessHours.of(weekly="1-4 09:00-12:00 13:30-17:00; 5 09:00-16:00")
    common = {"counting": "working_days", "calendar": CAL_2026, "tz": "Asia/Shanghai", "closing": time(17)}
    # Filed Tuesday 1 December: 3 working days end on Friday 4 December, which closes at 16:00.
    friday = day_deadline(at(2026, 12, 1, 10), 3, ends="close", closing_on=hours.closing_on, **common)
    assert friday == at(2026, 12, 4, 16, 0)
    assert day_deadline(at(2026, 12, 1, 10), 3, ends="midnight", **common) == at(2026, 12, 5, 0, 0)


def test_answers_are_utc_and_naive_starts_and_empty_periods_are_refused():
    due = hall_due(at(2026, 11, 30, 16, 0))
    assert due.tzinfo is UTC and due == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="aware"):
        hall_due(datetime(2026, 11, 30, 16, 0))
    with pytest.raises(ValueError, match="at least 1 day"):
        last_day(date(2026, 11, 30), 0, counting="working_days", calendar=CAL_2026)


def test_a_calendar_with_no_working_day_in_reach_says_so_instead_of_looping():
    never = WorkCalendar.of(holidays=span(date(2026, 1, 1), date(2030, 12, 31)))
    with pytest.raises(NoWorkingDay):
        last_day(date(2026, 1, 1), 1, counting="working_days", calendar=never)


# --- opening hours with breaks, and make-up days in the opening-hours clock -------------------------


def test_weekly_hours_read_ranges_and_breaks_and_write_back_the_same():
    week = parse_weekly("1-5 09:00-12:00 13:30-17:00; 6 09:00-12:00")
    assert week[0] == ((time(9), time(12)), (time(13, 30), time(17))) and week[6] == ()
    assert format_weekly(week) == "1-5 09:00-12:00 13:30-17:00; 6 09:00-12:00"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "at least one weekday"),
        ("Mon 09:00-17:00", "weekday or range"),
        ("5-1 09:00-17:00", "backwards"),
        ("1 17:00-09:00", "closes before it opens"),
        ("1 09:00-12:00 11:00-17:00", "not overlap"),
        ("1-5 09:00-17:00; 5 09:00-12:00", "named twice"),
        ("1 9:00-17:00", "HH:MM"),
    ],
)
def test_bad_weekly_hours_are_refused_with_the_part_at_fault(text: str, says: str):
    with pytest.raises(ValueError, match=says):
        parse_weekly(text)
    if text:
        with pytest.raises(ValidationError):
            PolicyValues(weekly_hours=text)


def test_the_lunch_break_and_a_make_up_sunday_count_in_the_opening_hours_clock():
    weekly = "1-5 09:00-12:00 13:30-17:00; 6 09:00-12:00"
    # Friday 18 September 11:00 + 5 opening hours: 1 h before lunch, 3.5 h after it, 0.5 h left for
    # Saturday 19 (open in the morning).
    due = add_business_hours(at(2026, 9, 18, 11, 0), 5, tz="Asia/Shanghai", weekly=weekly,
                             business_days=[1], opening="09:00", closing="17:00")  # fmt: skip
    assert due == at(2026, 9, 19, 9, 30)
    # With Sunday 20 September a make-up working day it opens with a working day's hours.
    sunday = add_business_hours(at(2026, 9, 19, 12, 0), 2, tz="Asia/Shanghai", weekly=weekly,
                                workdays=[date(2026, 9, 20)], business_days=[1], opening="09:00",
                                closing="17:00")  # fmt: skip
    assert sunday == at(2026, 9, 20, 11, 0)


def test_the_generic_policy_counts_opening_hours_and_skips_the_calendars_holidays():
    generic = PolicyValues(business_days=[1, 2, 3, 4, 5], sla_hours_high=8, sla_hours_normal=8)
    before = clocks(at(2026, 9, 30, 16, 0), Severity.normal, generic, tz="Asia/Shanghai")
    after = clocks(at(2026, 9, 30, 16, 0), Severity.normal, generic, tz="Asia/Shanghai", calendar=CAL_2026)
    assert before.due_at == at(2026, 10, 1, 16, 0)  # no calendar: 1 October is a Thursday like any
    assert after.due_at == at(2026, 10, 8, 16, 0)
    assert (after.unit, after.amount) == ("opening_hours", 8)


# --- properties ------------------------------------------------------------------------------------

days_2026 = st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31))
starts = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(SH))
lengths = st.integers(1, 30)


def due(start: datetime, n: int, calendar: WorkCalendar, counting: str = "working_days") -> datetime:
    return day_deadline(start, n, counting=counting, calendar=calendar, tz="Asia/Shanghai", ends="close",
                        closing=time(17))  # type: ignore[arg-type]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(start=starts, n=lengths, extra=st.sets(days_2026, max_size=20))
def test_a_working_day_deadline_is_always_at_close_on_a_working_day_after_the_filing_day(start, n, extra):
    calendar = WorkCalendar.of(holidays=[*HOLIDAYS_2026, *extra], workdays=MAKEUP_2026)
    end = due(start, n, calendar).astimezone(SH)
    assert calendar.is_working_day(end.date()), end
    assert end.time() == time(17) and end.date() > start.date()


@settings(max_examples=300, deadline=None)
@given(start=starts, n=lengths, extra=days_2026, counting=st.sampled_from(["working_days", "calendar_days"]))
def test_adding_a_holiday_never_makes_a_deadline_earlier(start, n, extra, counting):
    more = WorkCalendar.of(holidays=[*HOLIDAYS_2026, extra], workdays=MAKEUP_2026)
    assert due(start, n, more, counting) >= due(start, n, CAL_2026, counting)


@settings(max_examples=300, deadline=None)
@given(start=starts, n=lengths, extra=days_2026, counting=st.sampled_from(["working_days", "calendar_days"]))
def test_adding_a_make_up_day_never_makes_a_deadline_later(start, n, extra, counting):
    more = WorkCalendar.of(holidays=HOLIDAYS_2026, workdays=[*MAKEUP_2026, extra])
    assert due(start, n, more, counting) <= due(start, n, CAL_2026, counting)


@settings(max_examples=200, deadline=None)
@given(start=starts, n=st.integers(1, 29))
def test_one_more_day_never_gives_an_earlier_deadline(start, n):
    for counting in ("working_days", "calendar_days"):
        assert due(start, n, CAL_2026, counting) <= due(start, n + 1, CAL_2026, counting)
