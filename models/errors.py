"""Named domain exceptions. Screens and the API turn each into one friendly message."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: ``code`` is a stable identifier for messages and API bodies."""

    code = "domain_error"

    def __init__(self, message: str = "", **details: object):
        super().__init__(message or self.code)
        self.details = details


class ValidationFailed(DomainError):
    """Input broke a rule; ``field`` names what to fix."""

    code = "validation_failed"

    def __init__(self, field: str, message: str):
        super().__init__(message, field=field)
        self.field = field


class NotFound(DomainError):
    code = "not_found"


class StaffNotFound(NotFound):
    code = "staff_not_found"


class CounterNotFound(NotFound):
    code = "counter_not_found"


class DeviceNotAuthorized(DomainError):
    code = "device_not_authorized"


class IdempotencyConflict(DomainError):
    """The same idempotency key was used before with a different request body."""

    code = "idempotency_conflict"


class EnrolmentCodeInvalid(DomainError):
    """The enrolment code is unknown, already used or expired."""

    code = "enrolment_code_invalid"


class QrTokenUnknown(NotFound):
    """A staff badge link that is unknown, rotated or belongs to someone no longer active."""

    code = "qr_token_unknown"


class RatingThrottled(DomainError):
    """Too many ratings from one phone in a short time; nothing was stored."""

    code = "rating_throttled"


class SignInFailed(DomainError):
    """Wrong employee number or PIN, or not of this branch (deliberately one message)."""

    code = "sign_in_failed"


class SignInThrottled(DomainError):
    """Too many wrong attempts for this account: wait ``details['wait_seconds']``."""

    code = "sign_in_throttled"


class InductionNotPassed(DomainError):
    code = "induction_not_passed"


class NotOnDuty(DomainError):
    code = "not_on_duty"


class Forbidden(DomainError):
    """The signed-in person may not see or change this (outside their role or branch)."""

    code = "forbidden"


class ConflictOfInterest(Forbidden):
    """回避: the person may not handle a case or complaint that names them, or that they served at
    the counter (docs/RULES-CITED.md): someone else, or an administrator, must."""

    code = "conflict_of_interest"
