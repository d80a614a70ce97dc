"""The kiosk's door to the model: each function opens one short session, calls a service and
returns plain data. Screens call these through ``asyncio.to_thread`` so the event loop stays free.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from models.devices import authenticate_device, device_context, enrol_device
from models.duty import on_duty
from models.rating import RatingCreate, rate_at_device
from rapport.context import AppContext


@dataclass(frozen=True)
class StaffCard:
    employee_no: str
    display_name: str


@dataclass(frozen=True)
class CounterView:
    """Everything the welcome screen shows about where it stands."""

    device_id: int
    counter_name_zh: str
    counter_name_en: str
    branch_name_zh: str
    branch_name_en: str
    staff: StaffCard | None

    def counter_name(self, locale: str) -> str:
        return self.counter_name_zh if locale == "zh-CN" else self.counter_name_en

    def branch_name(self, locale: str) -> str:
        return self.branch_name_zh if locale == "zh-CN" else self.branch_name_en


@dataclass(frozen=True)
class Enrolled:
    token: str
    view: CounterView


def load_counter(ctx: AppContext, device_token: str) -> CounterView:
    """The counter, branch and on-duty staff for a device token (raises DeviceNotAuthorized)."""
    with ctx.db.write() as session:
        device = authenticate_device(session, device_token, now=ctx.clock())
        counter, branch = device_context(session, device)
        assert counter.id is not None and device.id is not None
        staff = on_duty(session, counter_id=counter.id, at=ctx.clock())
        card = StaffCard(staff.employee_no, staff.display_name) if staff else None
        return CounterView(
            device_id=device.id,
            counter_name_zh=counter.name_zh,
            counter_name_en=counter.name_en,
            branch_name_zh=branch.name_zh,
            branch_name_en=branch.name_en,
            staff=card,
        )


def enrol(ctx: AppContext, code: str) -> Enrolled:
    """Spend an enrolment code (raises EnrolmentCodeInvalid) and load the new device's counter."""
    with ctx.db.write() as session:
        _device, token = enrol_device(session, code=code, now=ctx.clock())
    return Enrolled(token=token, view=load_counter(ctx, token))


def new_idempotency_key() -> str:
    return f"kiosk-{uuid.uuid4()}"


def submit_tap(
    ctx: AppContext, *, device_token: str, idempotency_key: str, score: int, staff_no: str | None
) -> bool:
    """Store one tap; returns True if stored now, False if it was a retry of a stored tap."""
    with ctx.db.write() as session:
        device = authenticate_device(session, device_token, now=ctx.clock())
        _rating, created = rate_at_device(
            session,
            device=device,
            idempotency_key=idempotency_key,
            data=RatingCreate(score=score),
            staff_no=staff_no,
            now=ctx.clock(),
        )
        return created
