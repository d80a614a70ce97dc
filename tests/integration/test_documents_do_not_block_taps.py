"""Regression: a monthly report or an export used to be built inside a write transaction, holding
SQLite's write lock for as long as it took, so every kiosk tap waited behind it (and failed after
the 10 s busy timeout on a big branch). Documents are now built in a read session."""

from __future__ import annotations

import threading
import time

from sqlmodel import select

from admin import documents
from kiosk import backend as kiosk
from models import auth
from models.org import Branch
from rapport.core.context import AppContext
from rapport.core.db import Database
from rapport.core.migrate import upgrade
from rapport.core.settings import Settings
from rapport.usecases.demo import create_demo


def test_a_tap_is_stored_while_a_monthly_report_is_being_built(tmp_path):
    db = Database.from_url(f"sqlite:///{tmp_path / 'rapport.db'}")
    upgrade(db.engine)
    with db.write() as s:
        demo = create_demo(s, days=3, evaluate=False)
        branch_id = s.exec(select(Branch.id).where(Branch.code == "BJ-RM")).one()
        token = auth.authenticate(s, login="admin", password="demo-admin", client="192.0.2.1")[1]
    ctx = AppContext(settings=Settings(data_dir=tmp_path), db=db, secret_key="k" * 40)
    device_token = dict(demo.device_tokens)["BJ-RM-01"]

    building, release = threading.Event(), threading.Event()
    result: dict[str, object] = {}

    def progress(_fraction: float, _step: str) -> None:
        building.set()
        release.wait(30)  # the report stays mid-build until the tap below is done

    def make_report() -> None:
        result["report"] = documents.monthly_report(
            ctx,
            token,
            branch_id=branch_id,
            month=documents.default_month(ctx),
            locale="zh-CN",
            progress=progress,
        )

    worker = threading.Thread(target=make_report)
    worker.start()
    try:
        assert building.wait(30), "the report never started"
        started = time.monotonic()
        rating_id = kiosk.submit_tap(
            ctx, device_token=device_token, idempotency_key="mid-report", score=5, staff_no=None
        )
        waited = time.monotonic() - started
    finally:
        release.set()
        worker.join(60)
    assert rating_id is not None
    assert waited < 2.0, f"the tap waited {waited:.1f} s behind the report"
    report = result["report"]
    assert isinstance(report, documents.Download) and report.data.startswith(b"%PDF")
    db.dispose()
