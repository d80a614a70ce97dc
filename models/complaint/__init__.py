"""Complaints: filed by a customer (kiosk, phone, or staff typing in a hotline call), handled on a
clock, answered publicly, and followed up with the customer's grade of the handling.

Workflow: new -> acknowledged -> investigating -> resolved -> closed, or rejected (with a reason)
from any open state. Resolving needs a root cause and a **finding** with what it is about (the same
属实 / 部分属实 / 不属实 / 无法核实 and staff / service / process / policy / facilities / other as a 差评
case, models/cases.py): only a substantiated finding about the staff member weighs on them
(models/sanction/evaluation.py). The customer then grades the handling 满意 / 基本满意 / 不满意;
不满意 reopens a resolved complaint one severity step higher.
Every step is a :class:`ComplaintEvent` with its time and actor; the ``public`` events (kind and
time only, never notes or names) make up the customer's timeline on the status page.

回避: nobody is given, steps, investigates or reveals the contact of a complaint that names them or
whose customer they served at the counter (:func:`involved_staff`); an administrator takes it when
the branch has no one else.

The customer keeps a tracking code (:mod:`models.codes`); only its digest is stored.

The package is split along its seams (issue 17), each module importing the ones below it directly and
never through this package, so there is no import cycle:

- :mod:`models.complaint.records`: statuses, kinds, errors and the two tables;
- :mod:`models.complaint.rules`: transitions, severity, the clocks and due times, contact masking;
- :mod:`models.complaint.filing`: what a customer submits, and filing it once with a tracking code;
- :mod:`models.complaint.tracking`: the customer's status page and their grade of the handling;
- :mod:`models.complaint.casework`: the staff's steps (assign, transition, investigation, findings,
  revealing the contact) and 回避.

Everything is re-exported here: ``from models.complaint import X`` works as it did before the split.
"""

from models.complaint.casework import (
    assign,
    check_not_involved,
    finding_of,
    involved_staff,
    parse_finding,
    record_investigation,
    reveal_contact,
    transition,
)
from models.complaint.filing import (
    ComplaintCreate,
    Filing,
    file_complaint,
    normalise_contact,
    parse_complaint,
)
from models.complaint.records import (
    CONTACT_MAX_CHARS,
    DESCRIPTION_MAX_CHARS,
    IDEMPOTENCY_KEY_MAX,
    LOCALES,
    NOTE_MAX_CHARS,
    REPLY_MAX_CHARS,
    Complaint,
    ComplaintEvent,
    ComplaintNotFound,
    ComplaintStatus,
    ContactKind,
    EventKind,
    InvalidTransition,
    SatisfactionNotOpen,
    Severity,
)
from models.complaint.rules import (
    ALLOWED_TRANSITIONS,
    FINAL_STATUSES,
    Clocks,
    branch_clocks,
    can_transition,
    check_transition,
    clocks,
    contact_erase_time,
    due_time,
    escalation_time,
    initial_severity,
    mask_contact,
    next_severity,
    satisfaction_open,
)
from models.complaint.tracking import (
    ComplaintStatusView,
    answer_satisfaction,
    public_status,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "CONTACT_MAX_CHARS",
    "Clocks",
    "Complaint",
    "ComplaintCreate",
    "ComplaintEvent",
    "ComplaintNotFound",
    "ComplaintStatus",
    "ComplaintStatusView",
    "ContactKind",
    "DESCRIPTION_MAX_CHARS",
    "EventKind",
    "Filing",
    "FINAL_STATUSES",
    "IDEMPOTENCY_KEY_MAX",
    "InvalidTransition",
    "LOCALES",
    "NOTE_MAX_CHARS",
    "REPLY_MAX_CHARS",
    "SatisfactionNotOpen",
    "Severity",
    "answer_satisfaction",
    "assign",
    "branch_clocks",
    "can_transition",
    "check_not_involved",
    "check_transition",
    "clocks",
    "contact_erase_time",
    "due_time",
    "escalation_time",
    "file_complaint",
    "finding_of",
    "initial_severity",
    "involved_staff",
    "mask_contact",
    "next_severity",
    "normalise_contact",
    "parse_complaint",
    "parse_finding",
    "public_status",
    "record_investigation",
    "reveal_contact",
    "satisfaction_open",
    "transition",
]
