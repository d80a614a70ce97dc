"""The public results board's read (/board/<branch code>, kiosk/screens/board.py; issue 18): a
branch's 好差评 figures of the current month, as the rules ask a hall to publish them
(docs/RULES.md §1, 公开), for the big screen in the hall and the branch's website.

One read session, plain frozen data out. The figures are models/indicators.py's, not derived again
here: 好评率, 差评率, 整改率 and 实名差评回访率 with their counts, and the number of counted ratings,
for the branch and for each of its open counters. The month is the branch's local month at the
app's clock (``ctx.clock()``). Beside them:

- the month's 差评 by evaluation indicator (整体满意度, 服务效率, 服务水平, 服务态度;
  docs/INDICATORS.md): of the 差评 the 差评率 counts (the cases opened in the month), how many chose a
  reason feeding each indicator (models/catalog.py ``indicator_of``), once per 差评 and indicator,
  and how many chose no reason; one query reading only their ratings' clause codes;
- the figures per 事项 (models/participation.py ``per_service``): for each service the branch had a
  transaction of in the month, the transactions, the customers' ratings of them, the default ratings
  apart, 好评率 and 参评率.

Nothing personal about customers is read at all (no comment, no contact, no rating row; of a 差评's
rating only its reasons' clause codes). A member
of staff is named only with their consent to be named in public, the Service Star's rule
(``Staff.public_name_consent_at``, models/sanction/evaluation.py ``current_service_star``): the
person on duty at a counter now, and the branch's Service Star when the policy shows it on the
tablets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from models.bilingual import pick
from models.cases import RatingCase
from models.catalog import INDICATORS, indicator_of
from models.duty import on_duty
from models.indicators import Indicators, indicators, total
from models.org import Branch, Counter, Staff
from models.participation import ServiceFigures, per_service
from models.policy import effective_policy
from models.rating import Rating
from models.sanction import current_service_star
from models.scores import Month, local_month
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
class IndicatorRow:
    """One evaluation indicator and the month's 差评 that chose a reason feeding it."""

    key: str
    name_zh: str
    name_en: str
    bad: int

    def name(self, locale: str) -> str:
        return pick(locale, self.name_zh, self.name_en)


@dataclass(frozen=True)
class BadByIndicator:
    """The month's 差评 (cases opened, as the 差评率 counts them) by indicator."""

    bad: int  # 差评: cases opened in the month
    without_reason: int  # of those, with no reason chosen
    indicators: tuple[IndicatorRow, ...]  # the four, in the rules' order


@dataclass(frozen=True)
class ServiceRow:
    """One 事项's figures of the month (models/participation.py): its transactions, the customers'
    ratings of them (``rated``, 参评率's numerator), the default ratings apart (``defaulted``), and
    the 好评率 of its counted ratings (``good`` of ``ratings``)."""

    code: str
    name_zh: str
    name_en: str
    transactions: int
    rated: int
    defaulted: int
    ratings: int
    good: int
    good_rate: float | None
    participation_rate: float | None

    def name(self, locale: str) -> str:
        return self.name_en if locale != "zh-CN" and self.name_en else self.name_zh

    @classmethod
    def of(cls, line: ServiceFigures) -> ServiceRow:
        f = line.figures
        return cls(
            code=line.code, name_zh=line.name_zh, name_en=line.name_en, transactions=f.transactions,
            rated=f.rated, defaulted=f.defaulted, ratings=f.ratings, good=f.good, good_rate=f.good_rate,
            participation_rate=f.rate,
        )  # fmt: skip


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
    bad_by_indicator: BadByIndicator = BadByIndicator(0, 0, ())
    services: tuple[ServiceRow, ...] = ()

    def branch_name(self, locale: str) -> str:
        return pick(locale, self.branch_name_zh, self.branch_name_en)


def public_name(staff: Staff | None) -> str | None:
    """A staff member's name as the public may see it: only while they are active and agree to be
    named in public (the rule ``current_service_star`` applies to the Service Star)."""
    if staff is None or not staff.active or staff.public_name_consent_at is None:
        return None
    return staff.display_name


def bad_by_indicator(session: Session, *, branch_id: int, month: Month, timezone: str) -> BadByIndicator:
    """The month's 差评 of the branch (its cases opened in the month, the 差评 of models/indicators.py)
    by the indicators their ratings' reasons feed: a 差评 counts once under each indicator it names.
    The ratings' clause codes are all that is read."""
    start, end = month.bounds(timezone)
    chosen = session.exec(
        select(Rating.reasons)
        .join(RatingCase, col(RatingCase.rating_id) == col(Rating.id))
        .where(
            RatingCase.branch_id == branch_id, col(RatingCase.opened_at) >= start,
            col(RatingCase.opened_at) < end,
        )
    ).all()  # fmt: skip
    counts = dict.fromkeys((i.key for i in INDICATORS), 0)
    without = 0
    for reasons in chosen:
        keys = {indicator_of(code).key for code in reasons or ()}
        without += not keys
        for key in keys:
            counts[key] += 1
    rows = tuple(IndicatorRow(i.key, i.name_zh, i.name_en, counts[i.key]) for i in INDICATORS)
    return BadByIndicator(bad=len(chosen), without_reason=without, indicators=rows)


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
        lines = per_service(session, branch_id=branch.id, month=month)
        bad = bad_by_indicator(session, branch_id=branch.id, month=month, timezone=branch.timezone)
        star = None
        if effective_policy(session, branch.id).service_star_on_kiosk:
            star = current_service_star(session, branch.id, now=now)
        return PublicBoard(
            code=branch.code, branch_name_zh=branch.name_zh, branch_name_en=branch.name_en,
            month=str(month), timezone=branch.timezone, as_of=now, figures=Figures.of(total(per_counter)),
            counters=tuple(rows), star_name=star[0].display_name if star else None,
            star_month=star[1] if star else None,
            bad_by_indicator=bad, services=tuple(ServiceRow.of(line) for line in lines),
        )  # fmt: skip
