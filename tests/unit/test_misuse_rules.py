from datetime import timedelta

import pytest
from pydantic import ValidationError

from models.policy import PolicyValues
from models.rating import FlagReason, decide_kiosk_flag

POLICY = PolicyValues(min_press_interval_seconds=5, burst_max_presses=4, burst_window_seconds=60)


def ages(*seconds: float) -> list[timedelta]:
    return [timedelta(seconds=s) for s in seconds]


def test_the_first_press_on_a_kiosk_is_counted():
    assert decide_kiosk_flag([], POLICY) is None


def test_a_press_inside_the_minimum_interval_is_flagged_too_soon():
    assert decide_kiosk_flag(ages(4.9), POLICY) is FlagReason.too_soon


def test_a_press_after_the_interval_is_counted():
    assert decide_kiosk_flag(ages(5.0, 20), POLICY) is None


def test_more_presses_than_the_burst_limit_in_the_window_are_flagged():
    # At most four presses a minute: the fifth is a burst, the fourth is not.
    assert decide_kiosk_flag(ages(6, 12, 18, 24), POLICY) is FlagReason.burst
    assert decide_kiosk_flag(ages(6, 12, 18), POLICY) is None


def test_policy_refuses_sla_hours_that_shrink_as_severity_falls():
    with pytest.raises(ValidationError, match="SLA"):
        PolicyValues(sla_hours_high=80, sla_hours_normal=72)


def test_policy_refuses_unknown_settings_and_out_of_range_values():
    with pytest.raises(ValidationError):
        PolicyValues.model_validate({"idle_reset_secs": 30})
    with pytest.raises(ValidationError):
        PolicyValues(idle_reset_seconds=1)
