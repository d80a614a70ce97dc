"""Timed work inside the server process (APScheduler 3.11).

Jobs are small module-level bodies in rapport/alerting.py (and later steps); each is idempotent, so
a run repeated after a restart, or by a second server, raises nothing twice. Leader election across
servers, catch-up after downtime and the job history screen arrive with the operations step.
"""

from __future__ import annotations

import asyncio
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from rapport.alerting import overdue_sweep, weekly_spot_check_draw
from rapport.context import AppContext

log = logging.getLogger(__name__)


async def _sla_sweep(ctx: AppContext) -> None:
    try:
        raised = await asyncio.to_thread(overdue_sweep, ctx)
    except Exception:  # recorded and retried next minute, never a crash loop
        log.exception("SLA sweep failed")
        return
    if raised:
        log.info("SLA sweep: %d complaint(s) newly overdue", raised)


async def _spot_check_draw(ctx: AppContext) -> None:
    try:
        drawn = await asyncio.to_thread(weekly_spot_check_draw, ctx)
    except Exception:
        log.exception("spot-check draw failed")
        return
    if drawn:
        log.info("spot-check draw: %d task(s) for this week", drawn)


def _monthly_evaluation_body(ctx: AppContext) -> int:
    from models.sanction import evaluate_finished_months

    with ctx.db.write() as session:
        return sum(len(r.proposed) for r in evaluate_finished_months(session, now=ctx.clock()))


async def _monthly_evaluation(ctx: AppContext) -> None:
    try:
        proposed = await asyncio.to_thread(_monthly_evaluation_body, ctx)
    except Exception:
        log.exception("monthly evaluation failed")
        return
    if proposed:
        log.info("monthly evaluation: %d proposal(s) wait for a decision", proposed)


def start_scheduler(ctx: AppContext) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        _sla_sweep, "interval", minutes=1, args=[ctx], id="sla-sweep", replace_existing=True,
        coalesce=True, max_instances=1, misfire_grace_time=60,
    )  # fmt: skip
    # Monday morning in China; hourly retries are harmless (idempotent per supervisor and week) and
    # catch up a week whose Monday run was missed while the server was down.
    scheduler.add_job(
        _spot_check_draw, "interval", hours=1, args=[ctx], id="spot-check-draw", replace_existing=True,
        coalesce=True, max_instances=1, misfire_grace_time=3600,
    )  # fmt: skip
    # The 1st of the month in each branch's time zone: hourly runs do last month's evaluation once per
    # branch (models/sanction.evaluate_finished_months) and catch up after downtime.
    scheduler.add_job(
        _monthly_evaluation, "interval", hours=1, args=[ctx], id="monthly-evaluation", replace_existing=True,
        coalesce=True, max_instances=1, misfire_grace_time=3600,
    )  # fmt: skip
    scheduler.start()
    return scheduler
