"""Rapport's model: SQLModel tables and the domain services (plain functions taking a Session).

Importing this package registers every table on ``SQLModel.metadata``.
"""

from models.alerts import Alert, AlertKind
from models.audit import AuditEvent
from models.auth import LoginSession, TotpSecret
from models.cases import CaseEvent, CaseStatus, RatingCase
from models.catalog import ConductClause
from models.complaint import Complaint, ComplaintEvent, ComplaintStatus, EventKind, Severity
from models.extension_rows import ComplaintExtension
from models.feed import FeedAttempt, FeedRecord
from models.holidays import CalendarDay
from models.inspection import Inspection, InspectionFinding, SpotCheckTask
from models.jobs import JobRun
from models.org import Branch, Counter, Device, Duty, EnrolmentCode, Role, Staff
from models.policy import Policy, PolicyRevision, PolicyValues
from models.rating import Channel, Rating
from models.rollup import RatingDay, RatingDayMark, RatingDayReason
from models.sanction import Appeal, Evaluation, Sanction, SanctionKind, SanctionStatus
from models.services import ServiceItem, ServiceTransaction
from models.throttle import Throttle
from models.training import TrainingKind, TrainingRecord

__all__ = [
    "Inspection",
    "ServiceItem",
    "ServiceTransaction",
    "InspectionFinding",
    "SpotCheckTask",
    "Alert",
    "AlertKind",
    "AuditEvent",
    "CalendarDay",
    "CaseEvent",
    "CaseStatus",
    "RatingCase",
    "ComplaintExtension",
    "Branch",
    "Channel",
    "Complaint",
    "ComplaintEvent",
    "ComplaintStatus",
    "ConductClause",
    "EventKind",
    "FeedAttempt",
    "FeedRecord",
    "JobRun",
    "LoginSession",
    "Counter",
    "Device",
    "Duty",
    "EnrolmentCode",
    "Policy",
    "RatingDay",
    "RatingDayMark",
    "RatingDayReason",
    "PolicyRevision",
    "PolicyValues",
    "Appeal",
    "Evaluation",
    "Sanction",
    "SanctionKind",
    "SanctionStatus",
    "Rating",
    "Role",
    "Severity",
    "Staff",
    "Throttle",
    "TotpSecret",
    "TrainingKind",
    "TrainingRecord",
]
