"""The admin app's view of the scheduled jobs: each job's last run, next run, duration and last error.

Administrators only (the jobs serve every branch). The facts come from the ``job_run`` rows, not
from the scheduler in this process, so every app server shows the same picture whichever of them
leads. Results are plain frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from admin import access
from models.jobs import JobRunView, history
from models.org import Role
from rapport.core.context import AppContext
from rapport.usecases.scheduler import jobs


@dataclass(frozen=True)
class JobRow:
    name: str
    next_run: datetime | None  # None: this job does not run on this database
    last: JobRunView | None
    last_failure: JobRunView | None
    runs: int


GATE = access.Gate((Role.admin,), refused="the scheduled jobs are for administrators")


def job_overview(ctx: AppContext, token: str) -> list[JobRow]:
    """Every job in the catalogue's order; refused (Forbidden) to anyone but an administrator."""
    now = ctx.clock()
    GATE.caller(ctx, token)  # resuming the sign-in (which refreshes its idle time) is its own write
    with ctx.db.read() as session:
        rows = []
        for job in jobs():
            past = history(session, job.name)
            rows.append(JobRow(job.name, job.next_due(ctx, now), past.last, past.last_failure, past.runs))
    return rows
