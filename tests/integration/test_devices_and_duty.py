from datetime import timedelta

import pytest
from sqlmodel import select

from models.clock import utcnow
from models.devices import authenticate_device, enrol_device, issue_enrolment_code
from models.duty import on_duty, start_duty
from models.errors import DeviceNotAuthorized, EnrolmentCodeInvalid
from models.org import Device


def test_an_enrolment_code_binds_one_tablet_and_then_is_spent(db, world):
    with db.write() as s:
        code = issue_enrolment_code(s, counter_id=world.counter_id)
    with db.write() as s:
        device, token = enrol_device(s, code=code.lower().replace("-", " "))
        assert device.counter_id == world.counter_id
    with db.write() as s:
        assert authenticate_device(s, token).id == device.id
    with db.write() as s, pytest.raises(EnrolmentCodeInvalid):
        enrol_device(s, code=code)


def test_an_expired_enrolment_code_is_refused(db, world):
    with db.write() as s:
        code = issue_enrolment_code(s, counter_id=world.counter_id, now=utcnow() - timedelta(days=2))
    with db.write() as s, pytest.raises(EnrolmentCodeInvalid):
        enrol_device(s, code=code)


def test_tokens_are_stored_only_as_digests(db, world):
    with db.read() as s:
        digests = [d.token_digest for d in s.exec(select(Device)).all()]
    assert world.device_token not in digests and len(digests) == 2


@pytest.mark.parametrize("token", [None, "", "wrong", "x" * 500])
def test_missing_or_wrong_device_tokens_are_refused(db, world, token):
    with db.write() as s, pytest.raises(DeviceNotAuthorized):
        authenticate_device(s, token)


def test_a_revoked_device_is_refused(db, world):
    with db.write() as s:
        device = authenticate_device(s, world.device_token)
        device.revoked_at = utcnow()
        s.add(device)
        s.commit()
    with db.write() as s, pytest.raises(DeviceNotAuthorized):
        authenticate_device(s, world.device_token)


def test_signing_in_elsewhere_ends_the_earlier_duty(db, world):
    now = utcnow()
    with db.write() as s:
        start_duty(s, staff_id=world.staff_id, counter_id=world.closed_counter_id, at=now)
    with db.read() as s:
        assert on_duty(s, counter_id=world.counter_id, at=now + timedelta(seconds=1)) is None
        moved = on_duty(s, counter_id=world.closed_counter_id, at=now + timedelta(seconds=1))
        assert moved is not None and moved.id == world.staff_id
        # Before the move, the first counter was staffed: history is kept, not overwritten.
        earlier = on_duty(s, counter_id=world.counter_id, at=now - timedelta(minutes=5))
        assert earlier is not None and earlier.id == world.staff_id
