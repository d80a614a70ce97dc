"""Reply clocks that count a branch's opening hours (models/sla.py), and the policy fields behind them."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from models.complaint import Severity, due_time
from models.policy import PolicyValues
from models.sla import BusinessHours, add_business_hours, business_minutes_between, parse_hhmm

SH = ZoneInfo("Asia/Shanghai")
MON_SAT = [1, 2, 3, 4, 5, 6]
MON_FRI = [1, 2, 3, 4, 5]
HOURS = {"opening": "09:00", "closing": "17:00"}


def local(*args: int, tz: ZoneInfo = SH) -> datetime:
    return datetime(*args, tzinfo=tz)


def add(start: datetime, hours: float, *, days=MON_SAT, holidays=(), tz="Asia/Shanghai", **kw) -> datetime:
    return add_business_hours(
        start, hours, tz=tz, business_days=days, holidays=holidays, **{**HOURS, **kw}
    )  # fmt: skip


def between(start: datetime, end: datetime, *, days=MON_SAT, holidays=(), tz="Asia/Shanghai") -> float:
    return business_minutes_between(start, end, tz=tz, business_days=days, holidays=holidays, **HOURS)


# --- examples (March 2025: Friday the 7th, Saturday the 8th, Monday the 10th) ---------------------


def test_friday_afternoon_plus_three_hours_ends_saturday_morning_when_saturday_is_open():
    assert add(local(2025, 3, 7, 16, 0), 3) == local(2025, 3, 8, 11, 0)


def test_with_the_weekend_closed_the_clock_resumes_on_monday():
    assert add(local(2025, 3, 7, 16, 0), 3, days=MON_FRI) == local(2025, 3, 10, 11, 0)


def test_a_holiday_is_skipped_like_a_closed_day():
    assert add(local(2025, 3, 7, 16, 0), 3, holidays=["2025-03-08"]) == local(2025, 3, 10, 11, 0)
    assert add(local(2025, 3, 7, 16, 0), 3, days=MON_FRI, holidays=[date(2025, 3, 10)]) == local(
        2025, 3, 11, 11, 0
    )


def test_a_start_after_closing_counts_from_the_next_opening():
    assert add(local(2025, 3, 4, 20, 0), 2) == local(2025, 3, 5, 11, 0)
    assert add(local(2025, 3, 4, 17, 0), 2) == local(2025, 3, 5, 11, 0)  # exactly at closing
    assert add(local(2025, 3, 4, 20, 0), 0) == local(2025, 3, 5, 9, 0)


def test_a_start_before_opening_counts_from_that_mornings_opening():
    assert add(local(2025, 3, 4, 6, 30), 1.5) == local(2025, 3, 4, 10, 30)


def test_a_clock_that_runs_out_at_closing_is_due_at_closing_not_next_morning():
    assert add(local(2025, 3, 4, 9, 0), 8) == local(2025, 3, 4, 17, 0)


def test_seventy_two_hours_span_nine_opening_days_and_skip_sunday():
    # Monday 10:30: 6.5 h that day, 40 h Tuesday to Saturday, 24 h the next Monday to Wednesday,
    # and the last 1.5 h on Thursday.
    assert add(local(2025, 3, 3, 10, 30), 72) == local(2025, 3, 13, 10, 30)
    assert add(local(2025, 3, 3, 9, 0), 72, days=MON_FRI) == local(2025, 3, 13, 17, 0)


def test_the_answer_is_an_aware_utc_datetime_whatever_the_start_zone():
    due = add(datetime(2025, 3, 7, 8, 0, tzinfo=UTC), 3)  # 16:00 in Shanghai
    assert due.tzinfo is UTC and due == datetime(2025, 3, 8, 3, 0, tzinfo=UTC)


def test_a_daylight_saving_change_neither_adds_nor_removes_opening_time():
    london = ZoneInfo("Europe/London")  # clocks go forward on Sunday 30 March 2025 at 01:00 UTC
    start = local(2025, 3, 29, 16, 0, tz=london)  # Saturday, GMT
    due = add(start, 2, tz="Europe/London")
    assert due == local(2025, 3, 31, 10, 0, tz=london)  # Monday, BST
    assert due == datetime(2025, 3, 31, 9, 0, tzinfo=UTC)
    assert between(start, due, tz="Europe/London") == 120


def test_minutes_between_count_only_opening_time_and_run_negative_when_overdue():
    friday_4pm, monday_11am = local(2025, 3, 7, 16, 0), local(2025, 3, 10, 11, 0)
    assert between(friday_4pm, monday_11am, days=MON_FRI) == 180
    assert between(monday_11am, friday_4pm, days=MON_FRI) == -180
    assert between(local(2025, 3, 8, 10, 0), local(2025, 3, 9, 15, 0), days=MON_FRI) == 0


def test_nonsense_calendars_and_naive_times_are_refused():
    with pytest.raises(ValueError, match="aware"):
        add(datetime(2025, 3, 7, 16, 0), 1)
    with pytest.raises(ValueError, match="after opening"):
        add(local(2025, 3, 7, 16, 0), 1, opening="17:00", closing="09:00")
    with pytest.raises(ValueError, match="business day"):
        add(local(2025, 3, 7, 16, 0), 1, days=[])
    with pytest.raises(ValueError, match="ISO weekdays"):
        add(local(2025, 3, 7, 16, 0), 1, days=[0, 8])
    with pytest.raises(ValueError, match="finite"):
        add(local(2025, 3, 7, 16, 0), -1)
    with pytest.raises(ValueError, match="HH:MM"):
        parse_hhmm("9am")


# --- properties ------------------------------------------------------------------------------------

ZONES = ["Asia/Shanghai", "Europe/London", "America/New_York", "Australia/Sydney"]


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def calendars(draw: st.DrawFn) -> dict:
    days = draw(st.sets(st.integers(1, 7), min_size=1))
    # Opening hours away from the small hours, where daylight-saving changes happen.
    opening = draw(st.integers(5 * 60, 12 * 60))
    closing = draw(st.integers(opening + 15, 23 * 60 + 59))
    base = date(2025, 1, 1)
    holidays = draw(st.lists(st.integers(0, 800).map(lambda n: base + timedelta(days=n)), max_size=30))
    return {
        "tz": draw(st.sampled_from(ZONES)), "business_days": sorted(days), "holidays": holidays,
        "opening": hhmm(opening), "closing": hhmm(closing),
    }  # fmt: skip


starts = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)
hours = st.integers(0, 4 * 200).map(lambda quarters: quarters / 4)


@settings(max_examples=300, deadline=None)
@given(start=starts, hours=hours, cal=calendars())
def test_a_due_time_is_always_within_opening_hours_and_exactly_that_much_opening_time_away(
    start: datetime, hours: float, cal: dict
) -> None:
    due = add_business_hours(start, hours, **cal)
    calendar = BusinessHours.of(
        business_days=cal["business_days"], opening=cal["opening"], closing=cal["closing"],
        holidays=cal["holidays"],
    )  # fmt: skip
    assert due.tzinfo is UTC and due >= start
    at = due.astimezone(ZoneInfo(cal["tz"]))
    windows = calendar.windows(at.date())
    assert windows, f"due on a closed day: {at}"
    assert any(a <= at.replace(tzinfo=None) <= b for a, b in windows), f"due outside opening hours: {at}"
    assert business_minutes_between(start, due, **cal) == pytest.approx(hours * 60, abs=1e-6)


@settings(max_examples=150, deadline=None)
@given(start=starts, a=hours, b=hours, cal=calendars())
def test_more_hours_never_give_an_earlier_due_time(start: datetime, a: float, b: float, cal: dict) -> None:
    low, high = sorted((a, b))
    assert add_business_hours(start, low, **cal) <= add_business_hours(start, high, **cal)


# --- the policy behind it --------------------------------------------------------------------------


def test_the_default_policy_counts_monday_to_saturday_nine_to_five():
    policy = PolicyValues()
    assert policy.sla_in_business_hours
    assert policy.business_calendar() == {
        "business_days": MON_SAT, "opening": "09:00", "closing": "17:00", "holidays": [], "weekly": "",
    }  # fmt: skip


def test_the_policy_refuses_bad_opening_hours_and_holidays():
    for bad in (
        {"opening_time": "9:00"},
        {"closing_time": "24:00"},
        {"opening_time": "17:00", "closing_time": "09:00"},
        {"business_days": []},
        {"business_days": [0]},
        {"holidays": ["2025-02-30"]},
        {"holidays": ["2025-W10-1"]},
    ):
        with pytest.raises(ValidationError):
            PolicyValues.model_validate(bad)
    tidy = PolicyValues(business_days=[5, 1, 1], holidays=["2025-10-01", "2025-05-01", "2025-10-01"])
    assert tidy.business_days == [1, 5] and tidy.holidays == ["2025-05-01", "2025-10-01"]


def test_due_times_follow_the_policys_hours_or_the_wall_clock_when_turned_off():
    friday_4pm = local(2025, 3, 7, 16, 0)
    weekdays = PolicyValues(business_days=MON_FRI, sla_hours_high=3, holidays=["2025-03-10"])
    assert due_time(friday_4pm, Severity.high, weekdays, tz="Asia/Shanghai") == local(2025, 3, 11, 11, 0)
    wall = PolicyValues(sla_in_business_hours=False, sla_hours_high=3)
    assert due_time(friday_4pm, Severity.high, wall, tz="Asia/Shanghai") == friday_4pm + timedelta(hours=3)


def test_parse_hhmm_reads_a_time_of_day():
    assert parse_hhmm("08:30") == time(8, 30) and parse_hhmm(time(7)) == time(7)
