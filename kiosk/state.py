"""The kiosk's per-session state and its flow, as plain data: testable without Flet.

Screens: ``loading`` → ``enrol`` (tablet not bound to a counter) or ``welcome``;
``welcome`` → tap → ``saving`` → ``thanks`` (or ``error``, where "try again" reuses the same
idempotency key so a lost answer can never store the tap twice) → ``welcome``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from kiosk.backend import CounterView, new_idempotency_key

THANKS_SECONDS = 5


class Screen(StrEnum):
    loading = "loading"
    enrol = "enrol"
    welcome = "welcome"
    saving = "saving"
    thanks = "thanks"
    error = "error"


@dataclass
class PendingTap:
    score: int
    staff_no: str | None
    idempotency_key: str = field(default_factory=new_idempotency_key)


@dataclass
class KioskState:
    locale: str
    default_locale: str
    screen: Screen = Screen.loading
    device_token: str | None = None
    counter: CounterView | None = None
    pending: PendingTap | None = None
    message_key: str | None = None
    enrol_draft: str = ""
    # Bumped on every screen change so a countdown from an earlier screen knows it is stale.
    generation: int = 0

    def go(self, screen: Screen) -> None:
        self.screen = screen
        self.generation += 1

    def enrolled(self, token: str, counter: CounterView) -> None:
        self.enrol_draft = ""
        self.device_token = token
        self.counter = counter
        self.message_key = None
        self.go(Screen.welcome)

    def needs_enrolment(self, message_key: str | None = None) -> None:
        self.device_token = None
        self.counter = None
        self.message_key = message_key
        self.go(Screen.enrol)

    def tap(self, score: int) -> PendingTap:
        if not 1 <= score <= 5:
            raise ValueError("score must be 1 to 5")
        staff_no = self.counter.staff.employee_no if self.counter and self.counter.staff else None
        self.pending = PendingTap(score=score, staff_no=staff_no)
        self.go(Screen.saving)
        return self.pending

    def saved(self) -> None:
        self.pending = None
        self.go(Screen.thanks)

    def failed(self) -> None:
        # Keep ``pending`` (and its key): "try again" must replay the very same request.
        self.message_key = "kiosk.error.save"
        self.go(Screen.error)

    def reset(self) -> None:
        """Back to a clean welcome screen for the next customer, in the default language."""
        self.pending = None
        self.message_key = None
        self.locale = self.default_locale
        self.go(Screen.welcome if self.device_token else Screen.enrol)
