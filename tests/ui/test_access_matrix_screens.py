"""R5 access matrix, on screen: the admin app in process (tests/ui/harness.py) for a counter staff
member, the supervisors of branches A and B and an administrator. A section outside the role stays
shut even when opened directly (``AdminApp.open_section``), and every section a supervisor opens
loads and shows their own branch only. The services behind the screens are checked cell by cell in
tests/integration/access_matrix/."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from admin.app import AdminApp
from admin.sections import SECTIONS, visible_sections
from models.alerts import AlertKind, raise_alert
from models.complaint import ComplaintCreate, file_complaint
from models.crypto import hash_secret
from models.inspection import record_inspection
from models.org import Role, Staff
from models.rating import Channel
from rapport.core.context import AppContext

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from harness import FletHarness  # noqa: E402

PASSWORD = "correct horse 42"
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # Tuesday 11:00 in Shanghai
BRANCH_NAME = {"A": "甲支行", "B": "乙支行"}
Open = Callable[[], Awaitable[tuple[FletHarness, AdminApp]]]


@dataclass
class Data:
    branch: dict[str, int]
    complaint: dict[str, int]
    alert: dict[str, int]
    inspection: dict[str, int]
    staff_of: dict[int, int | None]  # staff id -> branch id


@pytest.fixture
def data(db, world, ctx) -> Data:
    """Sign-ins for alice (staff A), boss.a, boss.b and root; a complaint, an open alert and an
    inspection in each branch."""
    ctx.clock = lambda: NOW
    a, b = world.branch_id, world.other_branch_id
    with db.write() as s:
        s.add_all(
            [
                Staff(employee_no="S2", display_name="乙主管", role=Role.supervisor, branch_id=b),
                Staff(employee_no="A0", display_name="管理员", role=Role.admin),
            ]
        )
        s.flush()
        people = {p.employee_no: p for p in s.exec(select(Staff)).all()}
        password_hash = hash_secret(PASSWORD)
        for number, login in (("E1", "alice"), ("S1", "boss.a"), ("S2", "boss.b"), ("A0", "root")):
            people[number].username, people[number].password_hash = login, password_hash
        s.commit()
        ids = {no: p.id for no, p in people.items()}
        complaint, alert, inspection = {}, {}, {}
        for key, branch_id, person, boss in (("A", a, "E1", "S1"), ("B", b, "E9", "S2")):
            data = ComplaintCreate(
                category="2.2.2", description=f"{key} 等了很久", contact="13812345678", consent=True
            )
            filed, _code, _ = file_complaint(
                s, idempotency_key=f"screens-{key}", data=data, channel=Channel.kiosk, branch_id=branch_id,
                staff_id=ids[person], now=NOW,
            )  # fmt: skip
            view = raise_alert(
                s, branch_id=branch_id, kind=AlertKind.high_complaint, dedupe_key=f"screens:{key}",
                complaint_id=filed.id, now=NOW,
            )  # fmt: skip
            done = record_inspection(
                s, inspector_id=ids[boss], staff_id=ids[person], kind="routine", at=NOW - timedelta(hours=1),
                notes="", findings=[("2.2.1", "violation", "")], now=NOW,
            )  # fmt: skip
            assert filed.id and view and done.id
            complaint[key], alert[key], inspection[key] = filed.id, view.id, done.id
        staff_of = {p.id: p.branch_id for p in s.exec(select(Staff)).all() if p.id is not None}
    return Data({"A": a, "B": b}, complaint, alert, inspection, staff_of)


@pytest.fixture
async def open_admin(ctx: AppContext) -> AsyncIterator[Open]:
    opened: list[FletHarness] = []

    async def open_() -> tuple[FletHarness, AdminApp]:
        apps: list[AdminApp] = []

        async def main(page: Any) -> None:
            app = AdminApp(page, ctx)
            apps.append(app)
            await app.start()

        h = FletHarness(main, route="/")
        opened.append(h)
        await h.__aenter__()
        return h, apps[0]

    yield open_
    for h in reversed(opened):
        await h.close()


async def sign_in(h: FletHarness, login: str) -> None:
    await h.fill("login", login)
    await h.fill("password", PASSWORD)
    await h.click("sign-in")


def state(app: AdminApp) -> tuple:
    return (app.section, app.screen, app.detail, list(app.queue_rows), sorted(app.view))


async def test_a_staff_member_cannot_open_a_supervisor_section(open_admin: Open, data: Data) -> None:
    h, app = await open_admin()
    await sign_in(h, "alice")
    assert app.user is not None and app.user.role is Role.staff and app.section == "me"
    await app.open_section("hotline")
    hotline_options = app.view["hotline"].options
    assert hotline_options.branch_id == data.branch["A"] and len(hotline_options.branches) == 1
    shut = [s.key for s in SECTIONS if Role.staff not in s.roles]
    assert set(shut) >= {
        "complaints", "dashboard", "alerts", "inspections", "training", "audit",
        "documents", "ledger", "people", "rules", "jobs",
    }  # fmt: skip
    for key in [*shut, "no-such-section"]:
        before, screen = state(app), h.texts()
        await app.open_section(key)
        await h.settle()
        assert state(app) == before and h.texts() == screen, key
        assert not h.exists("filter-open") and not h.exists(f"complaint-{data.complaint['A']}")
    assert not app.queue_rows and not (
        {"alerts", "dashboard", "inspections", "training", "audit"} & set(app.view)
    )
    # A complaint opened directly (as an alert's "open" button would) is refused too.
    await app._open(data.complaint["A"])
    assert app.detail is None and app.message_key == "admin.error.forbidden" and app.screen != "detail"


@pytest.mark.parametrize("own, other", [("A", "B"), ("B", "A")])
async def test_a_supervisor_sees_only_their_own_branch_in_every_section(
    open_admin: Open, data: Data, own: str, other: str
) -> None:
    h, app = await open_admin()
    await sign_in(h, f"boss.{own.lower()}")
    assert app.user is not None and app.user.role is Role.supervisor
    mine = data.branch[own]
    for section in visible_sections(Role.supervisor):
        await app.open_section(section.key)
        await h.settle()
        assert app.section == section.key
        assert not h.has_text(BRANCH_NAME[other]), f"{section.key} shows {BRANCH_NAME[other]}"
    assert {r.id for r in app.queue_rows} == {data.complaint[own]}
    assert {r.id for r in app.view["alerts"]} == {data.alert[own]}
    assert {r.id for r in app.view["inspections"].recent} == {data.inspection[own]}
    assert {s.branch_id for s in app.view["inspections"].staff} == {mine}
    assert {data.staff_of[r.staff_id] for r in app.view["training"].rows} == {mine}
    assert {s.branch_id for s in app.view["training"].staff} == {mine}
    assert {b.branch_id for b in app.view["dashboard"].summary.branches} == {mine}
    assert app.view["hotline"].options.branch_id == mine

    before = state(app)
    await app.open_section("audit")  # administrators only
    assert state(app) == before and "audit" not in app.view and not h.exists("audit-verify")
    await app._open(data.complaint[other])
    assert app.detail is None and app.message_key == "admin.error.forbidden" and app.screen != "detail"
    await app._open(data.complaint[own])
    assert app.detail is not None and app.screen == "detail"


async def test_an_administrator_sees_every_branch(open_admin: Open, data: Data) -> None:
    h, app = await open_admin()
    await sign_in(h, "root")
    for section in visible_sections(Role.admin):
        await app.open_section(section.key)
        await h.settle()
        assert app.section == section.key
        assert h.exists("audit-verify") == (section.key == "audit")
    assert {r.id for r in app.queue_rows} == set(data.complaint.values())
    assert {r.id for r in app.view["alerts"]} == set(data.alert.values())
    assert {r.id for r in app.view["inspections"].recent} == set(data.inspection.values())
    assert {b.branch_id for b in app.view["dashboard"].summary.branches} == set(data.branch.values())
    assert app.view["audit"].rows
