"""The customer app's per-session state and its flow, as plain data: testable without Flet.

Modes: ``counter`` (an enrolled tablet), ``phone`` (a staff badge's QR link ``/s/<token>``) and
``status`` (following a complaint, ``/t/<code>``).

Screens, counter and phone: ``welcome`` → tap → ``saving`` → ``details`` (what went wrong / what
you liked; the tap is already stored) → ``thanks`` → ``welcome``. From ``details`` a customer may
open ``complaint`` → ``complaint_done``. A failed save goes to ``error``, where "try again" reuses
the same idempotency key so a lost answer can never store the tap twice. On a counter the staff
control opens ``staff`` (sign in / out). ``reset`` clears every field for the next customer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from kiosk.backend import FiledComplaint, Place, new_idempotency_key
from models.case_ticket import CaseTicket

THANKS_SECONDS = 5
TOKEN_KEY = "rapport.device_token"  # the browser storage key of a counter's device token


class Mode(StrEnum):
    counter = "counter"
    phone = "phone"
    status = "status"


class Screen(StrEnum):
    loading = "loading"
    enrol = "enrol"
    invalid_link = "invalid_link"
    welcome = "welcome"
    saving = "saving"
    details = "details"
    complaint = "complaint"
    complaint_done = "complaint_done"
    thanks = "thanks"
    error = "error"
    staff = "staff"
    status_lookup = "status_lookup"
    status_view = "status_view"
    callback = "callback"  # after a 差评: may we call you back? (kiosk/screens/case_callback.py)
    case_done = "case_done"  # the case's tracking code
    case_status = "case_status"  # a case's status page (kiosk/screens/case_status.py)


# Screens that hold a customer's input or result: the idle timer sends these back to welcome.
CUSTOMER_SCREENS = {Screen.details, Screen.complaint, Screen.complaint_done, Screen.thanks, Screen.error,
                    Screen.staff, Screen.callback, Screen.case_done}  # fmt: skip


@dataclass
class CallbackDraft:
    """The callback offer after a 差评, as typed (kiosk/screens/case_callback.py)."""

    contact: str = ""
    consent: bool = False
    error: str | None = None  # catalog key of the message under the form
    left: bool = False  # the contact was kept


@dataclass
class PendingTap:
    score: int
    staff_no: str | None
    transaction_id: int | None = None  # the transaction (办件) the screen invited the rating for
    idempotency_key: str = field(default_factory=new_idempotency_key)


@dataclass
class DetailsDraft:
    reasons: list[str] = field(default_factory=list)  # keys of the customer reasons picked, in order
    comment: str = ""
    more: bool = False  # "更多 / More" was tapped: every reason is shown, not only the first six

    def toggle(self, code: str) -> None:
        if code in self.reasons:
            self.reasons.remove(code)
        else:
            self.reasons.append(code)


@dataclass
class ComplaintDraft:
    category: str | None = None  # a customer reason's key; the complaint is filed under its main clause
    description: str = ""
    contact: str = ""
    consent: bool = False
    more: bool = False  # every category shown, not only the first six
    idempotency_key: str = field(default_factory=lambda: new_idempotency_key("complaint"))


@dataclass
class KioskState:
    locale: str
    default_locale: str
    mode: Mode = Mode.counter
    screen: Screen = Screen.loading
    device_token: str | None = None
    qr_token: str | None = None
    invite_code: str | None = None  # a receipt's link (/v/<code>): the transaction to rate on a phone
    place: Place | None = None
    pending: PendingTap | None = None
    score: int | None = None
    rating_id: uuid.UUID | None = None
    details: DetailsDraft = field(default_factory=DetailsDraft)
    complaint: ComplaintDraft = field(default_factory=ComplaintDraft)
    filed: FiledComplaint | None = None
    ticket: CaseTicket | None = None  # the case a 差评 opened, once its code was shown
    callback: CallbackDraft = field(default_factory=lambda: CallbackDraft())
    # A message to show on the current screen (a catalog key) and the field it is about.
    message_key: str | None = None
    message_field: str | None = None
    message_values: dict[str, object] = field(default_factory=dict)
    enrol_draft: str = ""
    staff_no_draft: str = ""
    # 大字模式 (kiosk/large_text.py): a counter drops it on every reset, a phone keeps it.
    large_text: bool = False
    # Bumped on every screen change so a countdown from an earlier screen knows it is stale.
    generation: int = 0

    # -- navigation -------------------------------------------------------------------------
    def go(self, screen: Screen) -> None:
        self.screen = screen
        self.generation += 1

    def say(self, key: str | None, field_name: str | None = None, **values: object) -> None:
        self.message_key, self.message_field, self.message_values = key, field_name, dict(values)

    @property
    def counter(self) -> Place | None:  # the welcome screen's name for the place
        return self.place

    @property
    def home(self) -> Screen:
        if self.mode is Mode.status:
            return Screen.status_lookup
        if self.mode is Mode.counter and not self.device_token:
            return Screen.enrol
        return Screen.welcome

    def enrolled(self, token: str, place: Place) -> None:
        self.enrol_draft = ""
        self.device_token = token
        self.place = place
        self.say(None)
        self.go(Screen.welcome)

    def needs_enrolment(self, message_key: str | None = None) -> None:
        self.device_token = None
        self.place = None
        self.say(message_key)
        self.go(Screen.enrol)

    # -- rating -----------------------------------------------------------------------------
    def tap(self, score: int) -> PendingTap:
        if not 1 <= score <= 5:
            raise ValueError("score must be 1 to 5")
        staff_no = self.place.staff.employee_no if self.place and self.place.staff else None
        invitation = self.place.invitation if self.place else None
        self.pending = PendingTap(
            score=score, staff_no=staff_no, transaction_id=invitation.transaction_id if invitation else None
        )
        self.score = score
        self.go(Screen.saving)
        return self.pending

    def saved(self, rating_id: uuid.UUID) -> None:
        self.pending = None
        self.rating_id = rating_id
        self.details = DetailsDraft()
        self.say(None)
        self.go(Screen.details)

    def failed(self, message_key: str = "kiosk.error.save") -> None:
        # Keep ``pending`` (and its key): "try again" must replay the very same request.
        self.say(message_key)
        self.go(Screen.error)

    @property
    def polarity(self) -> str:
        """Which reasons the details screen offers: what went wrong, or what was liked."""
        return "positive" if (self.score or 0) >= 4 else "negative"

    @property
    def offers_complaint(self) -> bool:
        return (self.score or 5) <= 3

    def thank(self) -> None:
        self.say(None)
        self.go(Screen.thanks)

    # -- complaint --------------------------------------------------------------------------
    def open_complaint(self) -> None:
        self.complaint = ComplaintDraft(description=self.details.comment)
        if self.details.reasons:
            self.complaint.category = self.details.reasons[0]
        self.say(None)
        self.go(Screen.complaint)

    def complaint_form(self) -> dict[str, object]:
        c = self.complaint
        form: dict[str, object] = {"category": c.category or "", "description": c.description,
                                   "consent": c.consent, "locale": self.locale}  # fmt: skip
        if c.contact.strip():
            form["contact"] = c.contact.strip()
        return form

    def complaint_filed(self, filed: FiledComplaint | None) -> None:
        if filed is not None:
            self.filed = filed
        if self.filed is None:
            # Stored before, but its code cannot be shown again: say so rather than pretend.
            self.say("complaint.error.replayed", "form")
            return
        self.say(None)
        self.go(Screen.complaint_done)

    # -- reset ------------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to a clean home screen for the next customer, in the default language (and, on a
        counter, at normal size; a phone is one customer's own and keeps their large text)."""
        self.pending = None
        self.score = None
        self.rating_id = None
        self.details = DetailsDraft()
        self.complaint = ComplaintDraft()
        self.filed = None
        self.ticket, self.callback = None, CallbackDraft()  # a callback contact never outlives its customer
        self.staff_no_draft = ""
        self.say(None)
        self.locale = self.default_locale
        if self.mode is Mode.counter:  # the next customer at the counter starts at normal size
            self.large_text = False
        self.go(self.home)
