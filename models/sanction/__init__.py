"""The reward and penalty ledger (conduct code §4) with due process, appeals, and the monthly evaluation.

A **Sanction** is one ledger entry about one staff member. Its life:

    proposed ──approve──▶ approved ──acknowledge──▶ acknowledged ──rectification──▶ closed
        │                    │   (a penalty; without a rectification report due it closes at once)
        └──reject──▶ rejected └──(a reward stays approved: it is in effect)

and, for an approved, acknowledged or closed penalty, within the policy's appeal window:

    ──appeal──▶ appealed ──decide──▶ back where it was (upheld) | overturned

Nothing is applied automatically: the monthly evaluation only *proposes*, with the evidence and the
clauses behind each proposal and a snapshot of the rules it used, and a supervisor or administrator
decides each proposal with a written reason. Nobody decides a proposal about themselves or one they
made. Every step is one audit entry written in the same transaction (ids only, never the text).

An **Appeal** is a staff member's statement against a rating they believe mistaken or false, or
against a penalty. An overturned rating is kept, marked ``overturned`` and no longer ``counted``, so it
leaves every score; an overturned penalty no longer counts towards escalation.

The package is split along its seams (issue 17), each module importing the ones below it directly and
never through this package, so there is no import cycle:

- :mod:`models.sanction.records`: kinds, statuses, errors and the three tables;
- :mod:`models.sanction.ledger_steps`: propose, decide, acknowledge, report, the deduction cap and fines;
- :mod:`models.sanction.appeals`: appealing a rating or a penalty, and deciding the appeal;
- :mod:`models.sanction.evaluation`: the monthly evaluation and the Service Star.

Everything is re-exported here: ``from models.sanction import X`` works as it did before the split.
"""

from models.org import Role  # re-exported as before the split
from models.sanction.appeals import (
    appeal_due,
    appeal_rating,
    appeal_sanction,
    appeal_until,
    appeals_of,
    decide_appeal,
    mark_told,
    open_appeals,
)
from models.sanction.evaluation import (
    SAME_SCORE,
    EvaluationResult,
    RewardBar,
    current_service_star,
    evaluate_finished_months,
    evaluate_month,
    next_penalty,
    reward_bar,
    set_public_name_consent,
)

# Private, but imported by tests (tests/integration/test_case_fairness.py).
from models.sanction.evaluation import _substantiated as _substantiated
from models.sanction.ledger_steps import (
    DeductionOverCap,
    FinesOff,
    acknowledge,
    check_deduction_cap,
    decide,
    deducted_in_month,
    file_report,
    ledger,
    propose,
    sanctions_of,
)
from models.sanction.records import (
    FROM_PAY,
    IN_FORCE,
    KIND_CLAUSE,
    MONEY,
    NEEDS_REPORT,
    PENALTIES,
    REASON_MAX_CHARS,
    REASON_MIN_CHARS,
    REPORT_MAX_CHARS,
    REWARDS,
    STATEMENT_MAX_CHARS,
    Appeal,
    AppealNotFound,
    AppealStatus,
    AppealTarget,
    Evaluation,
    LedgerStepRefused,
    Sanction,
    SanctionKind,
    SanctionNotFound,
    SanctionStatus,
)

__all__ = [
    "Appeal",
    "AppealNotFound",
    "AppealStatus",
    "AppealTarget",
    "DeductionOverCap",
    "Evaluation",
    "EvaluationResult",
    "FROM_PAY",
    "FinesOff",
    "IN_FORCE",
    "KIND_CLAUSE",
    "LedgerStepRefused",
    "MONEY",
    "NEEDS_REPORT",
    "PENALTIES",
    "REASON_MAX_CHARS",
    "REASON_MIN_CHARS",
    "REPORT_MAX_CHARS",
    "REWARDS",
    "RewardBar",
    "Role",
    "SAME_SCORE",
    "STATEMENT_MAX_CHARS",
    "Sanction",
    "SanctionKind",
    "SanctionNotFound",
    "SanctionStatus",
    "acknowledge",
    "appeal_due",
    "appeal_rating",
    "appeal_sanction",
    "appeal_until",
    "appeals_of",
    "check_deduction_cap",
    "current_service_star",
    "decide",
    "decide_appeal",
    "deducted_in_month",
    "evaluate_finished_months",
    "evaluate_month",
    "file_report",
    "ledger",
    "mark_told",
    "next_penalty",
    "open_appeals",
    "propose",
    "reward_bar",
    "sanctions_of",
    "set_public_name_consent",
]
