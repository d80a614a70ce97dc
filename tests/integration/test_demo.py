from collections import Counter as Tally

from sqlmodel import select

from models.org import Branch, Counter, Device, Duty, Role, Staff
from models.rating import Rating
from rapport.usecases.demo import create_demo, database_is_empty
from tests.conftest import clock_pinned


def test_demo_fills_an_empty_database_with_a_realistic_world(db):
    with clock_pinned(), db.write() as s:
        assert database_is_empty(s)
        steps: list[int] = []
        result = create_demo(s, days=10, progress=lambda done, total: steps.append(done))
    assert steps[-1] == 11
    with db.read() as s:
        assert len(s.exec(select(Branch)).all()) == 2
        assert len(s.exec(select(Counter)).all()) == 6
        assert len(s.exec(select(Device)).all()) == 6
        roles = Tally(p.role for p in s.exec(select(Staff)).all())
        assert roles == {Role.staff: 14, Role.supervisor: 2, Role.admin: 1}
        assert len([d for d in s.exec(select(Duty)).all() if d.ended_at is None]) == 5
        scores = Tally(r.score for r in s.exec(select(Rating)).all())
        assert not database_is_empty(s)
    assert sum(scores.values()) == result.ratings > 500
    # Mostly satisfied customers, but every grade occurs.
    assert set(scores) == {1, 2, 3, 4, 5}
    assert scores[5] + scores[4] > 0.6 * result.ratings
    assert len(result.device_tokens) == 6 and result.logins
