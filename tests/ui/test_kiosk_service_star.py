"""The kiosk's welcome screen names the branch's Service Star once one is approved, and only then: not
for a proposal still waiting, not for a rejected one, not for another branch's, not when the
policy ``service_star_on_kiosk`` is off, and only while the person agrees to be named in public."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from kiosk.app import TOKEN_KEY, KioskApp
from models.clock import utcnow
from models.org import Role, Staff
from models.policy import set_policy
from models.sanction import SanctionKind, decide, propose, set_public_name_consent
from models.scores import local_month
from rapport.core.context import AppContext

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from harness import FletHarness  # noqa: E402

Open = Callable[..., Awaitable[FletHarness]]


@pytest.fixture
async def open_kiosk(ctx: AppContext, world) -> AsyncIterator[Open]:
    """A fresh tab of the enrolled tablet at counter A-01 (where 王芳 is on duty)."""
    opened: list[FletHarness] = []

    async def open_(*, width: float = 1280, height: float = 800) -> FletHarness:
        async def main(page: Any) -> None:
            await KioskApp(page, ctx, sleep=h.clock.sleep).start()

        h = FletHarness(
            main, route="/", local_storage={TOKEN_KEY: world.device_token}, width=width, height=height
        )
        opened.append(h)
        await h.__aenter__()
        await h.wait_for(lambda: h.exists("rate-5"))
        return h

    yield open_
    for h in reversed(opened):
        await h.close()


def star_proposal(db, employee_no: str = "E2", *, approve: bool | None = True, consent: bool = True) -> str:
    """Last month's Service Star title for ``employee_no``, decided by a supervisor (or left waiting
    when ``approve`` is None), the person having agreed to be named unless ``consent`` is False;
    returns the month, YYYY-MM."""
    month = local_month(utcnow(), "Asia/Shanghai").previous()
    with db.write() as s:
        people = {p.employee_no: p for p in s.exec(select(Staff)).all()}
        boss = people["S1"]
        row = propose(
            s,
            staff_id=people[employee_no].id,  # type: ignore[arg-type]
            kind=SanctionKind.honorary_title,
            reason="本月公平得分最高",
            actor_staff_id=None,
            rule="service_star",
            month=str(month),
        )
        if approve is not None:
            assert row.id is not None and boss.id is not None
            decide(s, row.id, approve=approve, reason="同意授予服务之星", actor_staff_id=boss.id)
        set_public_name_consent(s, staff_id=people[employee_no].id, consent=consent)  # type: ignore[arg-type]
    return str(month)


def zh_month(month: str) -> str:
    year, number = month.split("-")
    return f"{year}年{int(number)}月"


async def test_no_star_is_shown_before_one_is_approved(open_kiosk: Open, db):
    h = await open_kiosk()
    assert not h.exists("service-star")
    star_proposal(db, approve=None)  # waiting for a decision
    h = await open_kiosk()
    assert not h.exists("service-star")


async def test_an_approved_star_is_named_on_the_welcome_screen_in_both_languages(open_kiosk: Open, db):
    month = star_proposal(db)
    h = await open_kiosk()
    assert h.find("service-star").value == f"{zh_month(month)}服务之星：李娜"
    # The rating faces stay the first thing: the line comes after them.
    texts = h.texts()
    assert texts.index(f"{zh_month(month)}服务之星：李娜") > texts.index("非常不满意")
    await h.click("lang")
    assert h.find("service-star").value.startswith("Service Star of ") and h.find(
        "service-star"
    ).value.endswith(": 李娜")
    phone = await open_kiosk(width=390, height=844)
    assert phone.find("service-star").value == f"{zh_month(month)}服务之星：李娜"


async def test_the_star_is_named_only_while_the_person_agrees(open_kiosk: Open, db):
    from models.audit import AuditEvent

    month = star_proposal(db, consent=False)
    h = await open_kiosk()
    assert not h.exists("service-star")  # approved, but 李娜 has not agreed: nobody is named
    with db.write() as s:
        li = s.exec(select(Staff).where(Staff.employee_no == "E2")).one()
        set_public_name_consent(s, staff_id=li.id, consent=True)  # type: ignore[arg-type]
    h = await open_kiosk()
    assert h.find("service-star").value == f"{zh_month(month)}服务之星：李娜"
    with db.write() as s:
        set_public_name_consent(s, staff_id=li.id, consent=False)  # type: ignore[arg-type]
        set_public_name_consent(s, staff_id=li.id, consent=False)  # withdrawn already: nothing more
        audited = s.exec(select(AuditEvent).where(AuditEvent.action == "staff.public_name_consent")).all()
    assert [a.details for a in audited] == [{"consent": True}, {"consent": False}]
    h = await open_kiosk()
    assert not h.exists("service-star")


async def test_a_rejected_star_or_another_branchs_star_is_not_shown(open_kiosk: Open, db, world):
    star_proposal(db, approve=False)
    star_proposal(db, "E9")  # branch B's star, approved
    h = await open_kiosk()
    assert not h.exists("service-star")


async def test_the_policy_can_keep_the_star_off_the_kiosk(open_kiosk: Open, db):
    star_proposal(db)
    with db.write() as s:
        admin = Staff(employee_no="A0", display_name="管理员", role=Role.admin)
        s.add(admin)
        s.commit()
        set_policy(s, values={"service_star_on_kiosk": False}, actor_staff_id=admin.id)
    h = await open_kiosk()
    assert not h.exists("service-star") and h.exists("staff-name")
