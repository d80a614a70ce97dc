"""Rewards decided relative to the branch (issue 15, done-when 5): a fixed line such as "Service Star
at a fair score of 4.5" is passed by everyone in an official-style hall (above 99% 好评) and by
nobody at a voluntary kiosk (2–5% 差评, many 4s). By default the monthly evaluation rewards the best
of the branch, above its mean, a few at most; the absolute basis is still there and behaves as before.
"""

from __future__ import annotations

import uuid
from collections import Counter as Tally
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from models.audit import AuditEvent
from models.clock import utcnow
from models.errors import ValidationFailed
from models.org import Branch
from models.policy import PolicyRevision, PolicyValues, published_revision, record_adoption, set_policy
from models.rating import Channel, Rating
from models.sanction import REWARDS, Evaluation, Sanction, SanctionKind, evaluate_month, reward_bar
from models.scores import Month, leaderboard, local_month
from rapport.usecases.demo import create_demo
from tests.conftest import clock_pinned

# The demo runs at tests/conftest.py's pinned instant (18 November 2026): 49 days of ratings cover
# the whole of October, the finished month evaluated here.
DEMO_DAYS = 49
MOST_REWARDED = 3  # people per branch and month: the Service Star and a couple of commendations


@pytest.mark.parametrize("distribution", ["kiosk", "hall"])
def test_each_demo_distribution_gets_a_few_rewards_per_branch_above_its_mean(db, distribution):
    with clock_pinned(), db.write() as s:
        create_demo(s, days=DEMO_DAYS, evaluate=False, distribution=distribution)
        scores = Tally(s.exec(select(Rating.score)).all())
        total = sum(scores.values())
        if distribution == "hall":
            assert (scores[4] + scores[5]) / total > 0.99 and scores[5] / total > 0.9
        else:
            assert 0.02 <= (scores[1] + scores[2]) / total <= 0.05
        now = utcnow()
        for branch in s.exec(select(Branch).order_by(Branch.code)).all():
            assert branch.id is not None
            month = local_month(now, branch.timezone).previous()
            result = evaluate_month(s, branch_id=branch.id, month=month, actor_staff_id=None, now=now)
            rewards = [
                row
                for row in (s.get(Sanction, i) for i in result.proposed)
                if row is not None and row.kind in REWARDS
            ]
            people = {r.staff_id for r in rewards}
            assert 1 <= len(people) <= MOST_REWARDED, (distribution, branch.code, rewards)
            assert [r.kind for r in rewards].count(SanctionKind.honorary_title) == 1

            board = leaderboard(s, branch.id, month)
            fair = {p.staff_id: p.score.score or 0.0 for p in board.ranked}
            mean = sum(fair.values()) / len(fair)
            assert all(fair[p] > mean for p in people)
            star = next(r.staff_id for r in rewards if r.kind == SanctionKind.honorary_title)
            assert fair[star] == max(fair[p] for p in people)
            assert all(r.evidence["basis"] == "relative" for r in rewards)

            # The run records the basis it used.
            run = s.get(Evaluation, result.evaluation_id)
            assert run is not None and run.rules["reward_basis"] == "relative"
            assert {"reward_min_above_mean", "commendation_top_share"} <= set(run.rules)

            if distribution == "hall":
                # Why not a fixed line: in a hall nearly everybody clears 4.6.
                assert sum(score >= 4.6 for score in fair.values()) > len(fair) / 2


# --- a branch of two, October 2026, seen from 18 November ------------------------------------------

OCTOBER = Month(2026, 10)
SEEN = datetime(2026, 11, 18, 2, 30, tzinfo=UTC)
# The rules an evaluation of October uses are those published before October began.
PUBLISHED = datetime(2026, 9, 30, 8, 0, tzinfo=UTC)


def rate(s, world, employee_no: str, scores: list[int], at: datetime | None = None) -> None:  # type: ignore[no-untyped-def]
    from models.org import Staff

    person = s.exec(select(Staff).where(Staff.employee_no == employee_no)).one()
    for i, score in enumerate(scores):
        s.add(
            Rating(
                idempotency_key=f"relative-{uuid.uuid4()}",
                request_hash="test",
                staff_id=person.id,
                counter_id=world.counter_id,
                branch_id=world.branch_id,
                channel=Channel.kiosk,
                score=score,
                created_at=(at or datetime(2026, 10, 12, 2, 0, tzinfo=UTC)) + timedelta(minutes=5 * i),
            )
        )
    s.commit()


def proposals(s) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    from models.org import Staff

    names = {p.id: p.employee_no for p in s.exec(select(Staff)).all()}
    return {(names[r.staff_id], str(r.kind)) for r in s.exec(select(Sanction)).all()}


def test_a_branch_where_everyone_scores_alike_rewards_nobody_unless_the_basis_is_absolute(db, world):
    with clock_pinned(), db.write() as s:
        rate(s, world, "E1", [5] * 25)
        rate(s, world, "E2", [5] * 25)
        result = evaluate_month(s, branch_id=world.branch_id, month=OCTOBER, actor_staff_id=None, now=SEEN)
        assert result.proposed == () and proposals(s) == set()

        # The absolute basis is today's rule: both clear 4.5 and 4.6, so both are rewarded.
        set_policy(s, values={"reward_basis": "absolute"}, branch_id=world.branch_id, now=PUBLISHED)
        result = evaluate_month(s, branch_id=world.branch_id, month=OCTOBER, actor_staff_id=None, now=SEEN)
        assert proposals(s) == {("E1", "honorary_title"), ("E1", "bonus"), ("E2", "commendation")}
        run = s.get(Evaluation, result.evaluation_id)
        assert run is not None and run.rules["reward_basis"] == "absolute"


def test_relative_rewards_the_best_above_the_mean_and_absolute_keeps_its_fixed_lines(db, world):
    with clock_pinned(), db.write() as s:
        rate(s, world, "E1", [5] * 20 + [4] * 5)  # fair score about 4.69: above the mean
        rate(s, world, "E2", [4] * 22)  # about 4.13: below it
        evaluate_month(s, branch_id=world.branch_id, month=OCTOBER, actor_staff_id=None, now=SEEN)
        # Two ranked people: a fifth of them is nobody, so no commendation beside the star.
        assert proposals(s) == {("E1", "honorary_title"), ("E1", "bonus")}

        # A margin wider than the gap: the rules would propose nothing (none new, none made before).
        set_policy(s, values={"reward_min_above_mean": 1.0}, branch_id=world.branch_id, now=PUBLISHED)
        result = evaluate_month(s, branch_id=world.branch_id, month=OCTOBER, actor_staff_id=None, now=SEEN)
        assert (result.proposed, result.existing) == ((), 0)

        # Absolute with the star's line above E1: no star; E1 clears the commendation's 4.6, so the
        # best person is commended (before, missing the star's line left them with nothing at all).
        set_policy(
            s,
            values={"reward_basis": "absolute", "service_star_min_score": 4.9},
            branch_id=world.branch_id,
            now=PUBLISHED,
        )
        result = evaluate_month(s, branch_id=world.branch_id, month=OCTOBER, actor_staff_id=None, now=SEEN)
        assert [str(s.get(Sanction, i).kind) for i in result.proposed] == ["commendation"]  # type: ignore[union-attr]
        set_policy(s, values={"commendation_min_score": 4.7}, branch_id=world.branch_id, now=PUBLISHED)
        result = evaluate_month(s, branch_id=world.branch_id, month=OCTOBER, actor_staff_id=None, now=SEEN)
        assert (result.proposed, result.existing) == ((), 0)


def test_the_reward_bar_caps_commendations_at_a_share_of_the_ranked_people():
    relative = PolicyValues()
    assert (relative.reward_basis, relative.reward_min_above_mean, relative.commendation_top_share) == (
        "relative",
        0.0,
        0.2,
    )
    bar = reward_bar(relative, [4.9, 4.8, 4.7, 4.6, 4.5, 4.4, 4.3])
    assert bar.basis == "relative" and bar.max_commendations == 1
    assert bar.branch_mean == pytest.approx(4.6) and 4.6 < bar.star < 4.7
    # Identical scores: the line sits just above all of them, whatever the rounding of their mean.
    same = [4.7] * 7
    assert all(score < reward_bar(relative, same).star for score in same)
    # Nobody ranked: nobody can be above the mean.
    assert reward_bar(relative, []).max_commendations == 0
    assert reward_bar(PolicyValues(commendation_top_share=0.58), [4.0] * 50).max_commendations == 29

    absolute = reward_bar(PolicyValues(reward_basis="absolute"), [4.9, 4.8])
    assert (absolute.star, absolute.commendation, absolute.max_commendations) == (4.5, 4.6, None)


def test_a_month_is_evaluated_under_the_rules_published_before_it_began(db, world):
    """劳动合同法 §4: rules bind once made known. A change saved on 15 October is on every staff page
    from then on, so it decides November, not October; each run records the versions it used."""
    november = Month(2026, 11)
    with clock_pinned(), db.write() as s:
        for person in ("E1", "E2"):
            rate(s, world, person, [5] * 25)
            rate(s, world, person, [5] * 25, at=datetime(2026, 11, 3, 2, 0, tzinfo=UTC))
        set_policy(
            s, values={"reward_basis": "absolute"}, branch_id=world.branch_id,
            now=datetime(2026, 10, 15, 2, 0, tzinfo=UTC),
        )  # fmt: skip
        saved = published_revision(s, branch_id=world.branch_id, before=datetime(2026, 12, 1, tzinfo=UTC))
        assert saved is not None and saved.published_at == datetime(2026, 10, 15, 2, 0, tzinfo=UTC)

        october = evaluate_month(s, branch_id=world.branch_id, month=OCTOBER, actor_staff_id=None, now=SEEN)
        assert october.proposed == (), "October ran under the relative rule published before it"
        run = s.get(Evaluation, october.evaluation_id)
        assert run is not None and run.rules["reward_basis"] == "relative"
        assert run.rule_versions is not None and run.rule_versions["branch"] == 0

        later = evaluate_month(
            s, branch_id=world.branch_id, month=november, actor_staff_id=None,
            now=datetime(2026, 12, 2, 2, 0, tzinfo=UTC),
        )  # fmt: skip
        kinds = {str(s.get(Sanction, i).kind) for i in later.proposed}  # type: ignore[union-attr]
        assert kinds == {"honorary_title", "bonus", "commendation"}
        run = s.get(Evaluation, later.evaluation_id)
        assert run is not None and run.rules["reward_basis"] == "absolute"
        assert run.rule_versions is not None and run.rule_versions["branch"] == saved.version


def test_how_a_version_was_adopted_is_recorded_and_bad_notes_are_refused(db, world):
    with clock_pinned(), db.write() as s:
        set_policy(s, values={"penalty_deduction_yuan": 100}, branch_id=world.branch_id, now=PUBLISHED)
        saved = published_revision(s, branch_id=world.branch_id, before=SEEN)
        assert saved is not None and saved.id is not None and saved.adopted_on is None
        for how, on, field in (
            ("  ", date(2026, 9, 28), "adopted_how"),
            ("职工代表大会" * 40, date(2026, 9, 28), "adopted_how"),
            ("职工代表大会", date(2026, 12, 30), "adopted_on"),
        ):
            with pytest.raises(ValidationFailed) as refused:
                record_adoption(
                    s, revision_id=saved.id, adopted_on=on, how=how, actor_staff_id=None, now=SEEN
                )
            assert refused.value.field == field
        with pytest.raises(ValidationFailed):
            record_adoption(
                s, revision_id=10_000, adopted_on=date(2026, 9, 28), how="x", actor_staff_id=None, now=SEEN
            )
        record_adoption(
            s, revision_id=saved.id, adopted_on=date(2026, 9, 28), how=" 职工代表大会  第三次会议 ",
            actor_staff_id=None, now=SEEN,
        )  # fmt: skip
    with db.read() as s:
        row = s.get(PolicyRevision, saved.id)
        assert row is not None and (row.adopted_on, row.adopted_how) == (
            date(2026, 9, 28),
            "职工代表大会 第三次会议",
        )
        entry = s.exec(select(AuditEvent).where(AuditEvent.action == "policy.adopted")).one()
        assert entry.details["version"] == row.version
