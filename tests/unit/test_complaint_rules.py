from datetime import UTC, datetime, timedelta

import pytest

from models.complaint import (
    ALLOWED_TRANSITIONS,
    ComplaintStatus,
    ContactKind,
    InvalidTransition,
    Severity,
    check_transition,
    due_time,
    initial_severity,
    mask_contact,
    next_severity,
    parse_complaint,
    satisfaction_open,
)
from models.errors import ValidationFailed
from models.policy import PolicyValues

POLICY = PolicyValues()
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def form(**fields):
    return parse_complaint({"category": "2.2.1", "description": "waited 40 minutes", **fields})


# --- transitions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "to"),
    [(current, to) for current, targets in ALLOWED_TRANSITIONS.items() for to in sorted(targets)],
)
def test_each_step_of_the_workflow_is_allowed(current, to):
    check_transition(current, to)


@pytest.mark.parametrize(
    ("current", "to"),
    [
        (ComplaintStatus.new, ComplaintStatus.resolved),
        (ComplaintStatus.new, ComplaintStatus.closed),
        (ComplaintStatus.acknowledged, ComplaintStatus.new),
        (ComplaintStatus.resolved, ComplaintStatus.rejected),
        (ComplaintStatus.rejected, ComplaintStatus.investigating),
        (ComplaintStatus.closed, ComplaintStatus.closed),
    ],
)
def test_skipping_or_reversing_a_step_is_refused_naming_both_statuses(current, to):
    with pytest.raises(InvalidTransition) as info:
        check_transition(current, to)
    assert f"from {current.value} to {to.value}" in str(info.value)
    assert info.value.details == {"current": current.value, "to": to.value}


def test_a_rejected_complaint_is_final():
    assert ALLOWED_TRANSITIONS[ComplaintStatus.rejected] == frozenset()
    with pytest.raises(InvalidTransition, match="final"):
        check_transition(ComplaintStatus.rejected, ComplaintStatus.closed)


# --- severity and clocks -------------------------------------------------------------------------


def test_integrity_and_confidentiality_complaints_start_high():
    assert initial_severity("2.1.2", policy=POLICY) is Severity.high
    assert initial_severity("2.1.2", policy=POLICY, score=5) is Severity.high


def test_other_complaints_start_normal_and_low_only_beside_a_good_rating():
    assert initial_severity("2.2.1", policy=POLICY) is Severity.normal
    assert initial_severity("2.2.1", policy=POLICY, score=1) is Severity.normal
    assert initial_severity("2.2.1", policy=POLICY, score=3) is Severity.normal
    assert initial_severity("2.2.1", policy=POLICY, score=4) is Severity.low


def test_the_high_severity_clauses_come_from_policy():
    policy = PolicyValues(high_severity_clauses=["2.2.1"])
    assert initial_severity("2.2.1", policy=policy) is Severity.high
    assert initial_severity("2.1.2", policy=policy) is Severity.normal


def test_escalating_raises_severity_one_step_and_stops_at_high():
    assert [next_severity(s) for s in Severity] == [Severity.normal, Severity.high, Severity.high]


def test_the_reply_is_due_after_the_severitys_sla_hours_of_opening_time():
    # NOW is Monday 17:00 in Shanghai, closing time: the clock starts Tuesday 09:00 and counts 8 hours
    # a day, Monday to Saturday. Every due time lands on a closing time (09:00 UTC).
    at_closing = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    assert due_time(NOW, Severity.low, POLICY, tz="Asia/Shanghai") == at_closing.replace(day=20)  # 15 days
    assert due_time(NOW, Severity.normal, POLICY, tz="Asia/Shanghai") == at_closing.replace(day=13)  # 9
    assert due_time(NOW, Severity.high, POLICY, tz="Asia/Shanghai") == at_closing.replace(day=6)  # 3
    wall_clock = PolicyValues(sla_in_business_hours=False)
    assert due_time(NOW, Severity.normal, wall_clock, tz="Asia/Shanghai") == NOW + timedelta(hours=72)


def test_the_satisfaction_question_is_open_only_while_resolved_and_unanswered():
    assert satisfaction_open(ComplaintStatus.resolved, None)
    assert not satisfaction_open(ComplaintStatus.resolved, False)
    assert not satisfaction_open(ComplaintStatus.investigating, None)
    assert not satisfaction_open(ComplaintStatus.closed, None)


# --- masking -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contact", "kind", "masked"),
    [
        ("13812345678", ContactKind.phone, "138****5678"),
        ("13812345678", "phone", "138****5678"),
        ("alice@example.com", ContactKind.email, "a***e@example.com"),
        ("al@example.com", ContactKind.email, "a***@example.com"),
        ("a@example.com", ContactKind.email, "a***@example.com"),
        ("13812345678", None, "***"),
        (None, ContactKind.phone, ""),
    ],
)
def test_contacts_are_masked_for_display(contact, kind, masked):
    assert mask_contact(contact, kind) == masked


# --- the form ------------------------------------------------------------------------------------


def test_a_minimal_complaint_needs_only_a_category_and_a_description():
    data = form()
    assert (data.category, data.contact, data.consent, data.locale) == ("2.2.1", None, False, "zh-CN")
    assert data.contact_kind is None


def test_a_contact_without_consent_is_refused_naming_consent():
    with pytest.raises(ValidationFailed) as info:
        form(contact="13812345678")
    assert info.value.field == "consent"
    assert "consent" in str(info.value)
    with pytest.raises(ValidationFailed) as info:
        form(contact="13812345678", consent=False)
    assert info.value.field == "consent"


@pytest.mark.parametrize(
    "typed",
    ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "0086-13812345678",
     "１３８１２３４５６７８"],
)  # fmt: skip
def test_a_mobile_number_is_accepted_as_typed_and_stored_as_digits(typed):
    data = form(contact=typed, consent=True)
    assert data.contact == "13812345678"
    assert data.contact_kind is ContactKind.phone


@pytest.mark.parametrize(
    "typed", ["12812345678", "1381234567", "138123456789", "02112345678", "+1 138 1234 5678", "call me"]
)
def test_a_number_that_is_not_a_mainland_mobile_is_refused(typed):
    with pytest.raises(ValidationFailed) as info:
        form(contact=typed, consent=True)
    assert info.value.field == "contact"
    assert "mobile number" in str(info.value)


def test_an_email_at_an_internationalised_domain_is_accepted():
    assert form(contact="wang@xn--fiqs8s.xn--fiqs8s", consent=True).contact == "wang@xn--fiqs8s.xn--fiqs8s"


def test_an_email_is_accepted_with_its_domain_lower_cased():
    data = form(contact=" Alice.Wang@Example.COM ", consent=True)
    assert data.contact == "Alice.Wang@example.com"
    assert data.contact_kind is ContactKind.email


@pytest.mark.parametrize(
    "typed",
    ["alice@", "@example.com", "alice@example", "alice@@example.com", "a b@example.com",
     "alice..wang@example.com", "alice@-example.com", "a" * 110 + "@example.com"],
)  # fmt: skip
def test_a_malformed_or_overlong_email_is_refused(typed):
    with pytest.raises(ValidationFailed) as info:
        form(contact=typed, consent=True)
    assert info.value.field == "contact"


def test_a_blank_contact_counts_as_none_and_needs_no_consent():
    assert form(contact="   ").contact is None


def test_the_description_is_cleaned_and_capped():
    data = form(description="\u202e柜员\x00  态度 差\n\n\n\n" + "好" * 1200)
    assert data.description.startswith("柜员 态度 差\n\n")
    assert len(data.description) == 1000


@pytest.mark.parametrize("text", ["", "   ", "\u200b\u202e\x00"])
def test_an_empty_description_is_refused(text):
    with pytest.raises(ValidationFailed) as info:
        form(description=text)
    assert info.value.field == "description"


def test_missing_fields_unknown_fields_and_unknown_locales_are_named():
    with pytest.raises(ValidationFailed) as info:
        parse_complaint({"category": "2.2.1"})
    assert (info.value.field, str(info.value)) == ("description", "description is required")
    with pytest.raises(ValidationFailed) as info:
        form(staff_id=3)
    assert info.value.field == "staff_id"
    with pytest.raises(ValidationFailed) as info:
        form(locale="fr")
    assert info.value.field == "locale"
