"""The provincial 好差评 feed's field mapping (rapport/usecases/feed_mapping.py) and the outbox's rules
that need no database (models/feed.py): levels, reasons, masking, channels, validation, back-off."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from models.feed import (
    BACKOFF_CAP,
    FIRST_ATTEMPT_DELAY,
    Outcome,
    backoff,
    outcome_of,
    record_id_for,
)
from models.rating import RATING_DETAILS_WINDOW
from rapport.usecases.feed_mapping import (
    FIELD_NAMES,
    MAPPING_VERSION,
    FeedSource,
    RatingFacts,
    Reason,
    level_of,
    to_record,
    validate_record,
)

SOURCE = FeedSource(
    region_code="440304", department_code="11440300MB2C12345X", department_name="福田区政务服务中心"
)
AT = datetime(2026, 11, 18, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai
RID = uuid.UUID("12345678-1234-5678-1234-567812345678")


REASON = {"code": "2.2.3", "name": "积极主动", "indicator": "服务效率", "option": "", "optionName": ""}


def facts(**overrides: object) -> RatingFacts:
    base: dict[str, object] = {
        "record_id": RID, "score": 2, "channel": "kiosk", "created_at": AT,
        "reasons": (Reason("2.2.3", "积极主动"), Reason("2.1.2", "廉洁自律")),
        "comment": "等了很久，请回电 13812345678 或 a.b@example.com",
        "staff_login": "alice", "staff_name": "李小华",
    }  # fmt: skip
    base.update(overrides)
    return RatingFacts(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("score", "level", "name"),
    [(5, 5, "非常满意"), (4, 4, "满意"), (3, 3, "基本满意"), (2, 2, "不满意"), (1, 1, "非常不满意")],
)
def test_each_score_maps_to_one_of_the_five_official_levels(score, level, name):
    assert level_of(score) == (level, name)
    record = to_record(facts(score=score), SOURCE)
    assert (record["level"], record["levelName"]) == (level, name)
    assert validate_record(record) is None


def test_a_score_outside_one_to_five_has_no_level():
    with pytest.raises(ValueError):
        level_of(0)


def test_a_bad_rating_carries_its_reasons_with_their_indicators_and_a_masked_text():
    record = to_record(facts(), SOURCE)
    assert record == {
        "recordId": str(RID),
        "projNo": "", "taskCode": "", "taskName": "", "taskVersion": "",
        "deptCode": "11440300MB2C12345X", "deptName": "福田区政务服务中心", "areaCode": "440304",
        "raterType": "1", "staffLogin": "alice", "staffName": "李小华",
        "level": 2, "levelName": "不满意",
        "badReasons": [
            {"code": "2.2.3", "name": "积极主动", "indicator": "服务效率", "option": "", "optionName": ""},
            {"code": "2.1.2", "name": "廉洁自律", "indicator": "整体满意度", "option": "", "optionName": ""},
        ],
        "text": "等了很久，请回电 *** 或 ***",
        "channel": "4",
        "ratedAt": "2026-11-18T10:30:00+08:00",
        "isDefault": False,
        "version": MAPPING_VERSION,
    }  # fmt: skip
    assert tuple(record) == FIELD_NAMES  # every documented field, in order, and no other


def test_a_default_rating_says_so_and_the_receiver_refuses_one_with_a_customers_words():
    record = to_record(facts(score=3, reasons=(), comment="", is_default=True), SOURCE)
    assert (record["isDefault"], record["level"], record["levelName"]) == (True, 3, "基本满意")
    assert validate_record(record) is None
    assert str(validate_record({**record, "isDefault": "yes"})) == "isDefault: must be true or false"
    worded = validate_record({**record, "text": "很好"})
    assert worded is not None and worded.field == "isDefault"


def test_a_reason_carries_its_official_option_when_the_deployment_lists_one(monkeypatch):
    from models.catalog import INDICATOR_BY_KEY, OfficialOption, ReasonIndicator
    from rapport.usecases import feed_mapping

    slow = OfficialOption("EFF-01", "efficiency", "办理时间过长", "It took too long")
    mapped = {"2.2.3": ReasonIndicator(INDICATOR_BY_KEY["efficiency"], slow)}
    monkeypatch.setattr(
        feed_mapping,
        "reason_indicator",
        lambda code: mapped.get(code, ReasonIndicator(INDICATOR_BY_KEY["overall"])),
    )
    record = to_record(facts(reasons=(Reason("2.2.3", "积极主动"), Reason("9.9.9", "管理员后加"))), SOURCE)
    assert record["badReasons"] == [
        {**REASON, "option": "EFF-01", "optionName": "办理时间过长"},
        {"code": "9.9.9", "name": "管理员后加", "indicator": "整体满意度", "option": "", "optionName": ""},
    ]
    assert validate_record(record) is None


def test_a_clause_the_indicators_file_does_not_list_is_sent_as_overall_satisfaction():
    # A clause an administrator added to the database by hand, or an old rating's code.
    record = to_record(facts(reasons=(Reason("7.7.7", "后加条款"),)), SOURCE)
    assert record["badReasons"] == [
        {"code": "7.7.7", "name": "后加条款", "indicator": "整体满意度", "option": "", "optionName": ""}
    ]
    assert validate_record(record) is None


def test_a_good_or_middling_rating_sends_no_bad_reasons():
    for score in (3, 4, 5):
        assert to_record(facts(score=score), SOURCE)["badReasons"] == []


def test_the_channels_and_a_rating_with_nobody_on_duty():
    assert [to_record(facts(channel=c), SOURCE)["channel"] for c in ("kiosk", "qr", "hotline")] == [
        "4",
        "3",
        "6",
    ]
    counter_level = to_record(facts(staff_login="", staff_name=""), SOURCE)
    assert counter_level["staffLogin"] == counter_level["staffName"] == ""
    assert validate_record(counter_level) is None


def test_the_transaction_fields_carry_a_transaction_when_there_is_one():
    record = to_record(
        facts(transaction_no="FT2026111800001", service_code="11440300MB2C12345X4440111001000",
              service_name="不动产登记", service_version="3"),
        SOURCE,
    )  # fmt: skip
    assert (record["projNo"], record["taskName"], record["taskVersion"]) == (
        "FT2026111800001",
        "不动产登记",
        "3",
    )
    assert validate_record(record) is None


def test_a_long_comment_is_cut_to_the_documented_length():
    assert len(to_record(facts(comment="慢" * 600), SOURCE)["text"]) == 500


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"recordId": "not-a-uuid"}, "recordId"),
        ({"areaCode": "4403"}, "areaCode"),
        ({"deptCode": ""}, "deptCode"),
        ({"level": 6}, "level"),
        ({"level": True}, "level"),
        ({"levelName": "满意"}, "levelName"),  # level 2 is 不满意
        ({"channel": "kiosk"}, "channel"),
        ({"raterType": "anonymous"}, "raterType"),
        ({"ratedAt": "2026-11-18 10:30:00"}, "ratedAt"),
        ({"badReasons": [{"code": "2.2.3"}]}, "badReasons"),
        ({"badReasons": [{"code": "2.2.3", "name": "积极主动"}]}, "badReasons"),  # the /1 shape
        ({"badReasons": [{**REASON, "indicator": "服务速度"}]}, "badReasons"),
        ({"badReasons": [{**REASON, "indicator": "efficiency"}]}, "badReasons"),
        ({"badReasons": [{**REASON, "option": "A01"}]}, "badReasons"),  # an option without its wording
        ({"badReasons": [{**REASON, "optionName": "办理时间过长"}]}, "badReasons"),
        ({"text": 42}, "text"),
        ({"extra": 1}, "extra"),
    ],
)
def test_validation_names_the_first_bad_field(change, field):
    record = {**to_record(facts(), SOURCE), **change}
    problem = validate_record(record)
    assert problem is not None and problem.field == field, problem


def test_validation_names_a_missing_field_and_refuses_bad_reasons_on_a_good_rating():
    record = to_record(facts(), SOURCE)
    del record["staffName"]
    assert validate_record(record).field == "staffName"  # type: ignore[union-attr]
    good = {**to_record(facts(score=5), SOURCE), "badReasons": [REASON]}
    assert validate_record(good).field == "badReasons"  # type: ignore[union-attr]
    assert validate_record([1, 2]).field == "record"  # type: ignore[union-attr]


def test_a_record_id_is_stable_and_differs_between_deployments():
    rating = uuid.UUID("0f0e0d0c-0b0a-0908-0706-050403020100")
    assert record_id_for(rating, "DEPT1") == record_id_for(rating, "DEPT1")
    assert record_id_for(rating, "DEPT1") != record_id_for(rating, "DEPT2")


def test_the_first_attempt_waits_for_the_details_window():
    assert FIRST_ATTEMPT_DELAY == RATING_DETAILS_WINDOW


def test_backoff_doubles_from_a_minute_and_stops_at_an_hour():
    minutes = [backoff(n) / timedelta(minutes=1) for n in range(1, 10)]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert backoff(1000) == BACKOFF_CAP


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.delivered), (201, Outcome.delivered), (204, Outcome.delivered),
        (500, Outcome.retry), (503, Outcome.retry), (None, Outcome.retry), (408, Outcome.retry),
        (429, Outcome.retry), (400, Outcome.paused), (401, Outcome.paused), (404, Outcome.paused),
        (422, Outcome.paused), (301, Outcome.paused),
    ],
)  # fmt: skip
def test_what_an_answer_means(status, outcome):
    assert outcome_of(status) is outcome


def test_the_receiver_fails_first_checks_the_token_validates_dedupes_and_remembers_its_file(tmp_path):
    from rapport.usecases.feed_receiver import Receiver

    out = tmp_path / "received.jsonl"
    receiver = Receiver(out=out, fail_first=1, token="t0ken")
    body = json.dumps(to_record(facts(), SOURCE)).encode()
    assert receiver.answer(body, "Bearer t0ken")[0] == 503
    assert receiver.answer(body, "Bearer wrong") == (
        401, {"error": "a valid bearer token is required", "field": "Authorization"},
    )  # fmt: skip
    assert receiver.answer(b"{", "Bearer t0ken") == (
        400,
        {"error": "the body is not JSON", "field": "record"},
    )
    bad = json.dumps({**to_record(facts(), SOURCE), "level": 9}).encode()
    assert receiver.answer(bad, "Bearer t0ken")[1]["field"] == "level"
    assert receiver.answer(body, "Bearer t0ken") == (200, {"status": "accepted", "recordId": str(RID)})
    assert receiver.answer(body, "Bearer t0ken")[1]["status"] == "duplicate"
    restarted = Receiver(out=out, token="t0ken")
    assert restarted.answer(body, "Bearer t0ken")[1]["status"] == "duplicate"
    assert [json.loads(line)["recordId"] for line in out.read_text().splitlines()] == [str(RID)]
