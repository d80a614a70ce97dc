"""The public results board's read (/board/<branch code>, kiosk/screens/board.py; issue 18): a
branch's 好差评 figures of the current month, as the rules ask a hall to publish them
(docs/RULES.md §1, 公开), for the big screen in the hall and the branch's website.

One read session, plain frozen data out. The figures are models/indicators.py's, not derived again
here: 好评率, 差评率, 整改率 and 实名差评回访率 with their counts, and the number of counted ratings,
for the branch and for each of its open counters. The month is the branch's local month at the
app's clock (``ctx.clock()``).

Nothing personal about customers is read at all (no comment, no contact, no rating row). A member
of staff is named only with their consent to be named in public, the Service Star's rule
(``Staff.public_name_consent_at``, models/sanction/evaluation.py ``current_service_star``): the
person on duty at a counter now, and the branch's Service Star when the policy shows it on the
tablets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from models.bilingual import pick
from models.duty import on_duty
from models.indicators import Indicators, indicators, total
from models.org import Branch, Counter, Staff
from models.policy import effective_policy
from models.sanction import current_service_star
from models.scores import local_month
from rapport.core.context import AppContext

CODE_MAX = 32  # Branch.code


@dataclass(frozen=True)
class Figures:
    """One row of the board: counts and the rates made of them (None: nothing to divide by)."""

    rated: int
    good: int
    bad: int
    rectified: int
    with_contact: int
    reached: int
    good_rate: float | None
    bad_rate: float | None
    rectify_rate: float | None
    callback_rate: float | None

    @classmethod
    def of(cls, ind: Indicators) -> Figures:
        return cls(
            rated=ind.rated, good=ind.good, bad=ind.bad, rectified=ind.rectified,
            with_contact=ind.with_contact, reached=ind.reached, good_rate=ind.good_rate,
            bad_rate=ind.bad_rate, rectify_rate=ind.rectify_rate, callback_rate=ind.callback_rate,
        )  # fmt: skip


@dataclass(frozen=True)
class CounterRow:
    code: str
    name_zh: str
    name_en: str
    # The person on duty there now, only if they agreed to be named in public; else None.
    staff_name: str | None
    figures: Figures

    def name(self, locale: str) -> str:
        return pick(locale, self.name_zh, self.name_en)


@dataclass(frozen=True)
class PublicBoard:
    code: str
    branch_name_zh: str
    branch_name_en: str
    month: str  # YYYY-MM, the branch's local month
    timezone: str
    as_of: datetime
    figures: Figures
    counters: tuple[CounterRow, ...]
    star_name: str | None = None  # the Service Star, named with consent, when the policy shows it
    star_month: str | None = None

    def branch_name(self, locale: str) -> str:
        return pick(locale, self.branch_name_zh, self.branch_name_en)


def public_name(staff: Staff | None) -> str | None:
    """A staff member's name as the public may see it: only while they are active and agree to be
    named in public (the rule ``current_service_star`` applies to the Service Star)."""
    if staff is None or not staff.active or staff.public_name_consent_at is None:
        return None
    return staff.display_name


def read_board(ctx: AppContext, code: str) -> PublicBoard | None:
    """The board of the branch ``code`` (None: no such branch)."""
    code = code.strip()
    if not code or len(code) > CODE_MAX:
        return None
    now = ctx.clock()
    with ctx.db.read() as session:
        branch = session.exec(select(Branch).where(Branch.code == code)).first()
        if branch is None or branch.id is None:
            return None
        month = local_month(now, branch.timezone)
        per_counter = indicators(session, branch_id=branch.id, month=month, level="counter")
        counters = session.exec(
            select(Counter)
            .where(Counter.branch_id == branch.id, col(Counter.active).is_(True))
            .order_by(col(Counter.code))
        ).all()
        rows = []
        for counter in counters:
            assert counter.id is not None
            rows.append(
                CounterRow(
                    code=counter.code, name_zh=counter.name_zh, name_en=counter.name_en,
                    staff_name=public_name(on_duty(session, counter_id=counter.id, at=now)),
                    figures=Figures.of(per_counter.get(counter.id, Indicators())),
                )
            )  # fmt: skip
        star = None
        if effective_policy(session, branch.id).service_star_on_kiosk:
            star = current_service_star(session, branch.id, now=now)
        return PublicBoard(
            code=branch.code, branch_name_zh=branch.name_zh, branch_name_en=branch.name_en,
            month=str(month), timezone=branch.timezone, as_of=now, figures=Figures.of(total(per_counter)),
            counters=tuple(rows), star_name=star[0].display_name if star else None,
            star_month=star[1] if star else None,
        )  # fmt: skip
