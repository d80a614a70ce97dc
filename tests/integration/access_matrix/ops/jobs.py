"""admin/jobs.py: the scheduled jobs' overview."""

from __future__ import annotations

from admin import jobs
from rapport.usecases.scheduler import jobs as job_catalogue
from tests.integration.access_matrix.cells import ADMIN, Cell, Op


def check_jobs(_c: Cell, rows: list[jobs.JobRow]) -> None:
    assert [r.name for r in rows] == [j.name for j in job_catalogue()], rows


JOBS_OPS: list[Op] = [
    Op("jobs.job_overview", jobs.job_overview, ADMIN,
       lambda e, tok, t, p: jobs.job_overview(e.ctx, tok), check_jobs),
]  # fmt: skip
