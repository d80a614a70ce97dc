"""The provincial 好差评 feed's worker: deliver the outbox (models/feed.py) to the platform.

Run by the scheduler (job ``feed``, rapport/usecases/scheduler.py) on the elected leader only, every
:data:`TICK_SECONDS`, each slot claimed once across servers; ``rapport feed deliver`` runs one pass by
hand. One pass takes the records due at ``now``, oldest first, and for each:

1. takes it in a short write (:func:`models.feed.lease`: another worker leaves it alone for a few
   minutes) and builds its JSON from the rating as it is now (rapport/usecases/feed_mapping.py);
2. posts it, one HTTP POST per record, outside any transaction (a slow platform never holds the
   database), with a timeout of :data:`TIMEOUT_SECONDS`;
3. records the answer in a short write (:func:`models.feed.record_attempt`): 2xx delivered; 5xx, 408,
   429, a timeout or no connection tried again after the back-off (1, 2, 4, ... minutes, at most an
   hour); any other answer pauses the record with the answer kept, for an administrator
   (``rapport feed list --paused``, ``rapport feed resend ID``).

The record id is the same on every attempt, so a record posted twice (an answer lost, a server
stopped between posting and recording) is one record for the platform, which dedupes by it.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

import httpx
from sqlmodel import Session, col, select

from models.catalog import ConductClause
from models.feed import FeedRecord, Outcome, due_records, lease, outcome_of, record_attempt
from models.jobs import RunLog
from models.org import Staff
from models.rating import Rating
from models.services import ServiceItem, ServiceTransaction
from rapport.core.context import AppContext
from rapport.core.settings import Settings
from rapport.usecases.feed_mapping import FeedSource, RatingFacts, Reason, to_record

log = logging.getLogger(__name__)

TICK_SECONDS = 30
TIMEOUT_SECONDS = 10.0
BATCH = 200  # records per pass at most; the rest wait for the next tick
USER_AGENT = "Rapport-feed/1"


class FeedAnswer(Exception):
    """A record not delivered on this attempt (for the job's log: the class name is what it keeps)."""


class FeedRetry(FeedAnswer):
    pass


class FeedPaused(FeedAnswer):
    pass


def feed_source(settings: Settings) -> FeedSource:
    return FeedSource(
        region_code=settings.feed_region_code,
        department_code=settings.feed_department_code,
        department_name=settings.feed_department_name,
    )


def facts_of(session: Session, record: FeedRecord) -> RatingFacts:
    """The rating behind ``record`` as the mapping needs it, read now (with the reasons and comment
    the customer added after the tap)."""
    rating = session.get(Rating, record.rating_id)
    if rating is None:  # pragma: no cover - the foreign key keeps the rating while its record exists
        raise LookupError(f"feed record {record.id}: no rating {record.rating_id}")
    login = name = ""
    if rating.staff_id is not None:
        staff = session.get(Staff, rating.staff_id)
        if staff is not None:
            login, name = staff.username or staff.employee_no, staff.display_name
    titles: dict[str, str] = {}
    if rating.reasons:
        query = select(ConductClause.code, ConductClause.title_zh).where(
            col(ConductClause.code).in_(rating.reasons)
        )
        titles = dict(session.exec(query).all())
    return RatingFacts(
        record_id=record.id,
        score=rating.score,
        channel=str(rating.channel),
        created_at=rating.created_at,
        reasons=tuple(Reason(code, titles.get(code, code)) for code in rating.reasons),
        comment=rating.comment,
        staff_login=login,
        staff_name=name,
        **_transaction_facts(session, rating.transaction_id),
        is_default=rating.is_default,
    )


def _transaction_facts(session: Session, transaction_id: int | None) -> dict[str, str]:
    """The transaction (办件) a rating is of and its service (事项), for projNo and taskCode/Name/Version;
    nothing for walk-up feedback."""
    tx = session.get(ServiceTransaction, transaction_id) if transaction_id is not None else None
    item = session.get(ServiceItem, tx.service_item_id) if tx is not None else None
    if tx is None or item is None:
        return {}
    return {
        "transaction_no": tx.number, "service_code": item.code, "service_name": item.name_zh,
        "service_version": item.version,
    }  # fmt: skip


def _post(client: httpx.Client, url: str, record: dict[str, Any]) -> tuple[int | None, str]:
    """One POST; (status, an excerpt of the answer), status None when there was no answer."""
    try:
        answer = client.post(url, json=record)
    except httpx.TimeoutException:
        return None, "no answer within the timeout"
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    return answer.status_code, answer.text[:500]


def client_for(settings: Settings, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    headers = {"User-Agent": USER_AGENT}
    if settings.feed_token:
        headers["Authorization"] = f"Bearer {settings.feed_token}"
    return httpx.Client(timeout=TIMEOUT_SECONDS, headers=headers, transport=transport)


def deliver_one(ctx: AppContext, client: httpx.Client, record_id: uuid.UUID, now: datetime) -> Outcome | None:
    """One attempt at one record (steps 1–3 above); None when it was no longer due (taken elsewhere,
    delivered, paused)."""
    with ctx.db.write() as session:
        record = lease(session, record_id=record_id, now=now)
        if record is None:
            session.rollback()
            return None
        payload = to_record(facts_of(session, record), feed_source(ctx.settings))
        session.commit()
    status, answer = _post(client, ctx.settings.feed_url, payload)
    with ctx.db.write() as session:
        record_attempt(session, record_id=record_id, status=status, answer=answer, at=now)
        session.commit()
    outcome = outcome_of(status)
    if outcome is not Outcome.delivered:
        log.warning("feed record %s: %s (%s) %s", record_id, outcome.value, status, answer[:200])
    return outcome


def deliver_due(
    ctx: AppContext, now: datetime, run: RunLog, *, transport: httpx.BaseTransport | None = None
) -> None:
    """One pass over the records due at ``now``: each delivered is an item done, each retried or
    paused an item failed (FeedRetry / FeedPaused in the job's log)."""
    if not ctx.settings.feed_on:
        return
    with ctx.db.read() as session:
        due = due_records(session, now=now, limit=BATCH)
    if not due:
        return
    with client_for(ctx.settings, transport) as client:
        for record_id in due:
            try:
                outcome = deliver_one(ctx, client, record_id, now)
            except Exception as exc:  # one bad record must not stop the others
                log.exception("feed record %s could not be attempted", record_id)
                run.fail(f"record {record_id}", exc)
                continue
            if outcome is Outcome.delivered:
                run.ok()
            elif outcome is Outcome.retry:
                run.fail(f"record {record_id}", FeedRetry())
            elif outcome is Outcome.paused:
                run.fail(f"record {record_id}", FeedPaused())


__all__ = ["TICK_SECONDS", "deliver_due", "deliver_one", "facts_of", "feed_source"]
