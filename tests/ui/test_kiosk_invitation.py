"""The invitation to rate a transaction (办件, issue 18) in process: the tablet's welcome screen asks
about the service the queue system just reported, in both languages and in large text, the tap is
that transaction's rating, and the receipt's link on a phone says plainly when it cannot be used."""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from kiosk.app import TOKEN_KEY
from kiosk.state import Screen
from models.clock import pin
from models.rating import Rating
from models.services import ServiceTransaction, import_items
from rapport.core.i18n import t
from rapport.usecases import services

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from kiosk_support import KioskHarness, Open  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
CSV = "code,name_zh,name_en\nSB-001,社会保障卡申领,Social security card application\n"
ASKED_ZH = "请对本次办理的【社会保障卡申领】进行评价"
ASKED_EN = "Please rate the service you just received: Social security card application"


@pytest.fixture(autouse=True)
def fixed_clock():
    pin(datetime(2026, 11, 18, 10, 30, tzinfo=SH))
    yield
    pin(None)


@pytest.fixture
def hall(db, world):  # type: ignore[no-untyped-def]
    with db.write() as s:
        import_items(s, CSV)
        s.commit()
    return world


async def report(ctx, world, number: str = "n1", **fields: str) -> services.TransactionView:  # type: ignore[no-untyped-def]
    """The queue system's report, from another thread as the API's would be."""
    data = {"number": number, "service_code": "SB-001", **fields}
    view, _created = await asyncio.to_thread(
        services.record_finished,
        ctx,
        device_token=world.device_token,
        idempotency_key=f"k-{number}",
        data=data,
    )
    return view


def question(h: KioskHarness) -> str:
    return str(h.find("question").value)


async def test_the_tablet_asks_about_the_service_just_reported_and_rates_it(open_kiosk: Open, ctx, hall, db):  # type: ignore[no-untyped-def]
    h = await open_kiosk(storage={TOKEN_KEY: hall.device_token})
    assert question(h) == t("zh-CN", "kiosk.question")
    await report(ctx, hall, staff="E2")
    await h.wait_for(lambda: question(h) == ASKED_ZH)  # nudged: no reset needed
    assert h.find("staff-name").value == "李娜"  # who served it, not E1 on duty
    await h.app.on_toggle_language(None)
    assert question(h) == ASKED_EN
    await h.app.on_toggle_language(None)
    await h.click("large-text")
    assert question(h) == ASKED_ZH  # large text asks the same

    await h.click("rate-4")
    assert h.app.state.screen is Screen.details
    with db.read() as s:
        tx = s.exec(select(ServiceTransaction)).one()
        rating = s.exec(select(Rating)).one()
    assert (rating.transaction_id, rating.counted, tx.rating_id) == (tx.id, True, rating.id)
    await h.app.on_done(None)  # the customer is done: the next one is asked about the service in general
    await h.wait_for(lambda: h.app.state.screen is Screen.welcome)
    assert question(h) == t("zh-CN", "kiosk.question")


async def test_a_report_while_a_customer_is_mid_way_waits_for_the_welcome_screen(
    open_kiosk: Open, ctx, hall, db
):  # type: ignore[no-untyped-def]
    h = await open_kiosk(storage={TOKEN_KEY: hall.device_token})
    await h.click("rate-2")  # an earlier customer, still choosing reasons
    await report(ctx, hall)
    await h.settle()
    assert h.app.state.screen is Screen.details  # not pulled back to welcome
    await h.app.on_done(None)
    await h.wait_for(lambda: h.app.state.screen is Screen.welcome and question(h) == ASKED_ZH)
    with db.read() as s:  # the earlier customer's rating is of no transaction
        assert [r.transaction_id for r in s.exec(select(Rating)).all()] == [None]


@pytest.mark.parametrize(
    ("locale", "rated"), [("zh-CN", False), ("en", False), ("zh-CN", True), ("en", True)]
)
async def test_the_receipts_link_on_a_phone(open_kiosk: Open, ctx, hall, db, locale, rated):  # type: ignore[no-untyped-def]
    view = await report(ctx, hall)
    code = view.invitation_url.rsplit("/", 1)[1]
    if rated:
        h = await open_kiosk(f"/v/{code}", width=390, height=844)
        await h.click("rate-5")
    h = await open_kiosk(f"/v/{code}", width=390, height=844)
    if locale == "en":
        await h.app.on_toggle_language(None)
    if rated:
        assert h.app.state.screen is Screen.invalid_link
        assert h.has_text(t(locale, "phone.invite_rated.title"))
    else:
        assert question(h) == (ASKED_EN if locale == "en" else ASKED_ZH)
    unknown = await open_kiosk("/v/ABCDEFGH", width=390, height=844)
    if locale == "en":
        await unknown.app.on_toggle_language(None)
    assert unknown.app.state.screen is Screen.invalid_link
    assert unknown.has_text(t(locale, "phone.invite.title")) and unknown.has_text(
        t(locale, "phone.invite.body")
    )


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_a_link_after_the_default_says_the_time_has_ended(open_kiosk: Open, ctx, hall, db, locale):  # type: ignore[no-untyped-def]
    view = await report(ctx, hall)
    with db.write() as s:  # the policy's default rating, given by the job (models/default_rating.py)
        tx = s.exec(select(ServiceTransaction)).one()
        tx.rating_id, tx.defaulted, tx.rated_at = uuid.uuid4(), True, tx.finished_at
        s.add(tx)
        s.commit()
    h = await open_kiosk(f"/v/{view.invitation_url.rsplit('/', 1)[1]}", width=390, height=844)
    if locale == "en":
        await h.app.on_toggle_language(None)
    assert h.app.state.screen is Screen.invalid_link
    assert h.has_text(t(locale, "phone.invite_ended.title"))
    assert h.has_text(t(locale, "phone.invite_ended.body"))
    assert not h.has_text(t(locale, "phone.invite_rated.title"))
