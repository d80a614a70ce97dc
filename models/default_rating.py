"""The default rating: a transaction (办件) nobody rated in time gets the policy's score (issue 18).

Guangdong's rule (docs/RULES-CITED.md §1): a transaction not rated within 7 calendar days counts as
基本满意, reported separately. The policy says how many days (``default_rating_days``, 0 = off, the
default), which score (``default_rating_score``, 3 = 基本满意) and whether such a rating is counted
in the scores and the 好评率 (``default_rating_counted``, off by default).

- **When**: the days are calendar days of the branch's time zone counted from the day after the
  transaction finished (民法典 §201, RULES-CITED §3), the last one ending at 24:00; they are not
  moved past holidays (the customer's chance to rate is not an office's deadline). A transaction
  finished on 2 November with 7 days may be rated until 9 November 24:00 and gets its default from
  10 November 00:00. The job (``default-rating``, rapport/usecases/scheduler.py) looks back
  :data:`LOOKBACK_DAYS` past that deadline, so turning the rule on does not rate a year of old
  transactions at once, while a job stopped for weeks still catches up.
- **What**: a :class:`~models.rating.Rating` with ``is_default``, the policy's score, channel
  kiosk, the transaction's staff, counter and branch, ``transaction_id`` set, ``counted`` per the
  policy, no reasons and no comment, taken at the moment the job ran (a closed day never gets a
  new rating, so the day roll-ups stay right, models/rollup.py). It never opens a 差评 case
  whatever its score, and it is sent to the provincial feed only when counted.
- **Once**: the transaction is claimed first with the conditional update every rating of a
  transaction goes through (models/services.py ``claim(..., default=True)``), in the transaction
  that inserts the rating: of a customer's tap racing the job exactly one wins, and a tap after the
  default is kept, flagged ``already_rated`` and not counted. The rating's idempotency key is
  ``default-<transaction id>``, so a repeated run can never store a second one.
- **Audited**: one audit entry per branch and batch (``rating.defaulted``: how many, the days, the
  score, whether counted), never which transactions.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from models import audit
from models.clock import branch_zone, local_midnight
from models.errors import ValidationFailed
from models.feed import FEED, enqueue
from models.org import Branch
from models.policy import PolicyValues, effective_policy
from models.prepared import driver_of
from models.rating import Channel, insert_rating
from models.services import ServiceTransaction, claim

LOOKBACK_DAYS = 31
BATCH = 200
KEY_PREFIX = "default-"


def idempotency_key(transaction_id: int) -> str:
    return f"{KEY_PREFIX}{transaction_id}"


def last_day(finished: datetime, days: int, tz_name: str | None) -> date:
    """The last local day a customer may still rate a transaction finished at ``finished``."""
    return finished.astimezone(branch_zone(tz_name)).date() + timedelta(days=days)


def deadline(finished: datetime, days: int, tz_name: str | None) -> datetime:
    """The moment a transaction finished at ``finished`` gets its default: 24:00 of its last day."""
    return local_midnight(last_day(finished, days, tz_name) + timedelta(days=1), branch_zone(tz_name))


def cutoff(now: datetime, days: int, tz_name: str | None) -> datetime:
    """Transactions finished before this instant are past their deadline at ``now``: the start of
    the local day ``days`` before today (finished that day, their last day is yesterday)."""
    zone = branch_zone(tz_name)
    return local_midnight(now.astimezone(zone).date() - timedelta(days=days), zone)


@dataclass(frozen=True)
class Due:
    id: int
    branch_id: int
    counter_id: int
    staff_id: int | None


def due(
    session: Session, *, branch: Branch, policy: PolicyValues, now: datetime, limit: int = BATCH
) -> list[Due]:
    """The branch's transactions past their deadline at ``now`` with no rating, oldest first."""
    if policy.default_rating_days <= 0:
        return []
    end = cutoff(now, policy.default_rating_days, branch.timezone)
    rows = session.exec(
        select(
            ServiceTransaction.id, ServiceTransaction.branch_id, ServiceTransaction.counter_id,
            ServiceTransaction.staff_id,
        )
        .where(
            ServiceTransaction.branch_id == branch.id,
            col(ServiceTransaction.finished_at) >= end - timedelta(days=LOOKBACK_DAYS),
            col(ServiceTransaction.finished_at) < end,
            col(ServiceTransaction.rating_id).is_(None),
        )
        .order_by(col(ServiceTransaction.finished_at), col(ServiceTransaction.id))
        .limit(limit)
    ).all()  # fmt: skip
    return [Due(int(i), int(b), int(c), s) for i, b, c, s in rows if i is not None]


def _values(tx: Due, policy: PolicyValues, now: datetime) -> dict[str, Any]:
    key = idempotency_key(tx.id)
    digest = hashlib.sha256(f"rapport-default:{tx.id}:{policy.default_rating_score}".encode()).hexdigest()
    return {
        "id": uuid.uuid4(), "idempotency_key": key, "request_hash": digest, "staff_id": tx.staff_id,
        "counter_id": tx.counter_id, "branch_id": tx.branch_id, "device_id": None, "channel": Channel.kiosk,
        "score": policy.default_rating_score, "reasons": [], "comment": "", "created_at": now,
        "flagged": False, "flag_reason": None, "counted": policy.default_rating_counted, "overturned": False,
        "phone_key": None, "transaction_id": tx.id, "is_default": True,
    }  # fmt: skip


def give_default(session: Session, tx: Due, policy: PolicyValues, now: datetime) -> bool:
    """Claim the transaction for a default rating and store it (uncommitted); False when a rating got
    there first (nothing is stored then)."""
    conn, dialect = driver_of(session)
    values = _values(tx, policy, now)
    if not claim(conn, dialect, transaction_id=tx.id, rating_id=values["id"], at=now, default=True):
        return False
    if not insert_rating(conn, dialect, values):
        # The key is the transaction's: a default stored without its claim cannot happen, since both
        # are written in one transaction. Refuse rather than leave the claim pointing at nothing.
        raise ValidationFailed("transaction", f"transaction {tx.id} already has a default rating")
    if FEED.on and values["counted"]:  # the provincial feed's record, in the rating's transaction
        enqueue(conn, dialect, values)
    return True


def apply_defaults(session: Session, *, branch_id: int, now: datetime, limit: int = BATCH) -> int:
    """Give one batch of the branch's overdue transactions their default rating and commit, with an
    audit entry counting them; returns how many (0 when the rule is off or nothing is due: then
    nothing is written). Call again until it returns fewer than ``limit``."""
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise ValidationFailed("branch", "no such branch")
    policy = effective_policy(session, branch_id)
    given = sum(
        give_default(session, tx, policy, now)
        for tx in due(session, branch=branch, policy=policy, now=now, limit=limit)
    )
    if not given:
        session.rollback()
        return 0
    audit.append(
        session, action="rating.defaulted", entity="branch", entity_id=branch_id, now=now,
        details={
            "count": given, "days": policy.default_rating_days, "score": policy.default_rating_score,
            "counted": policy.default_rating_counted,
        },
    )  # fmt: skip
    session.commit()
    return given


__all__ = [
    "BATCH",
    "LOOKBACK_DAYS",
    "Due",
    "apply_defaults",
    "cutoff",
    "deadline",
    "due",
    "give_default",
    "idempotency_key",
    "last_day",
]
