"""The dashboard's month of transactions (issue 18): the 参评率, a line per 事项 and the default
ratings shown apart, in both languages and on a phone; a branch without transactions grows no table.

Branch A in March 2026 (Asia/Shanghai), counted by hand: SB-001 twice at counter 1, rated 5 and 4
by customers; HJ-002 twice at counter 2, one never rated and given the default (3, not counted: the
rules' default) on 12 March, one not yet due. 4 transactions, 2 rated: 参评率 50% (2/4), 1 default.
"""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import flet as ft
import pytest
from sqlmodel import select

from admin import sections
from admin.screens import dashboard
from models.crypto import hash_secret
from models.default_rating import apply_defaults
from models.org import Staff
from models.policy import set_policy
from models.rating import Channel, RatingCreate, submit_rating
from models.services import ServiceTransaction, import_items, item_by_code

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from admin_support import PASSWORD, Open, sign_in  # noqa: E402
from harness import FletHarness  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 15, 10, 0, tzinfo=SH).astimezone(UTC)
SERVICES_CSV = (
    "code,name_zh,name_en\nSB-001,社会保障卡申领,Social security card application\n"
    "HJ-002,户籍证明开具,Household registration certificate\n"
)


def local(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=SH).astimezone(UTC)


@pytest.fixture(autouse=True)
def dashboard_section(monkeypatch):  # type: ignore[no-untyped-def]
    if sections.by_key("dashboard") is None:
        section = sections.Section(
            "dashboard", "admin.dash.nav", ft.Icons.INSIGHTS, sections.SUPERVISION, dashboard.build,
            dashboard.load,
        )  # fmt: skip
        monkeypatch.setattr(sections, "SECTIONS", [*sections.SECTIONS, section])


@pytest.fixture
def boss(db, ctx):  # type: ignore[no-untyped-def]
    ctx.clock = lambda: NOW
    with db.write() as s:
        person = s.exec(select(Staff).where(Staff.employee_no == "S1")).one()
        person.username, person.password_hash = "boss.a", hash_secret(PASSWORD)
        s.add(person)
        s.commit()


@pytest.fixture
def services(db, world, boss):  # type: ignore[no-untyped-def]
    with db.write() as s:
        import_items(s, SERVICES_CSV)
        ids = {code: item_by_code(s, code).id for code in ("SB-001", "HJ-002")}  # type: ignore[union-attr]
        made = {}
        for name, code, counter, finished in (
            ("t1", "SB-001", world.counter_id, local(2, 9)),
            ("t2", "SB-001", world.counter_id, local(9, 9)),
            ("t3", "HJ-002", world.closed_counter_id, local(2, 10)),
            ("t4", "HJ-002", world.closed_counter_id, local(14, 10)),
        ):
            row = ServiceTransaction(
                number=name, idempotency_key=name, request_hash="h", service_item_id=ids[code],
                branch_id=world.branch_id, counter_id=counter, staff_id=world.staff_id, finished_at=finished,
                created_at=finished, invitation_code=f"CODE{name.upper():0>4}",
            )  # fmt: skip
            s.add(row)
            s.flush()
            made[name] = row
        s.commit()
        for name, score, at in (("t1", 5, local(2, 9)), ("t2", 4, local(9, 10))):
            tx = made[name]
            submit_rating(
                s, idempotency_key=str(uuid.uuid4()), data=RatingCreate(score=score), channel=Channel.kiosk,
                branch_id=tx.branch_id, staff_id=tx.staff_id, counter_id=tx.counter_id, now=at,
                transaction_id=tx.id,
            )  # fmt: skip
        set_policy(s, values={"default_rating_days": 7}, branch_id=world.branch_id)
    with db.write() as s:
        assert apply_defaults(s, branch_id=world.branch_id, now=local(12, 9)) == 1  # t3's


def value(h: FletHarness, key: str) -> str:
    return str(h.find(key).value)


async def test_the_dashboard_shows_the_participation_and_each_service(open_admin: Open, services, world):
    h = await open_admin()
    await sign_in(h, "boss.a")
    await h.click("nav-dashboard")
    assert value(h, "dash-participation") == (
        "本月办结 4 件，群众评价 2 件，参评率 50% (2/4)；默认评价 1 件（不计入参评率）"
    )
    keys = ("transactions", "rated", "rate", "ratings", "mean", "good_rate", "defaulted")
    sb, hj = (f"dash-service-{n}" for n in (1, 2))
    assert value(h, f"{sb}-service") == "SB-001 社会保障卡申领"
    assert [value(h, f"{sb}-{k}") for k in keys] == ["2", "2", "100% (2/2)", "2", "4.50", "100%", "0"]
    assert [value(h, f"{hj}-{k}") for k in keys] == ["2", "0", "0% (0/2)", "0", "—", "—", "1"]
    # The month's ratings: the two customers' count; the default is apart and not counted.
    assert value(h, "dash-month-count") == "2"
    assert value(h, "dash-month-defaults") == "其中默认评价 0 条计入统计；另有 1 条默认评价未计入任何得分"
    assert value(h, f"dash-counter-{world.closed_counter_id}-month_default") == "1"
    assert value(h, f"dash-counter-{world.counter_id}-month_default") == "0"

    await h.click("lang")
    assert value(h, "dash-participation").startswith(
        "4 transactions finished this month, 2 rated by customers: participation 50% (2/4)"
    )
    assert value(h, f"{hj}-service") == "HJ-002 Household registration certificate"


async def test_on_a_phone_each_service_is_a_block_with_the_same_figures(open_admin: Open, services):
    h = await open_admin(width=390, height=844)
    await sign_in(h, "boss.a")
    await h.click("nav-dashboard")
    assert value(h, "dash-service-2-defaulted") == "1" and value(h, "dash-service-1-rate") == "100% (2/2)"


async def test_a_branch_without_transactions_grows_no_table(open_admin: Open, world, boss):
    h = await open_admin()
    await sign_in(h, "boss.a")
    await h.click("nav-dashboard")
    assert h.exists("dash-month-count")
    for key in ("dash-participation", "dash-service-1-service", "dash-month-defaults"):
        assert not h.exists(key), key
    assert not h.exists(f"dash-counter-{world.counter_id}-month_default")
