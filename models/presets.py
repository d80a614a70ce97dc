"""Presets: named sets of complaint-clock values an administrator applies in one action (the
government hall's 好差评 rules, the bank's consumer-complaint rules, Rapport's own default), and the
bank's remedies text. Applied through :func:`models.policy.set_policy`, so a preset is one audited
version of the rules like any other change (docs/RULES-CITED.md §1–§3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from models.errors import ValidationFailed
from models.policy import PolicyValues, effective_policy, set_policy

# What a bank's decision tells the customer they may do next (RULES-CITED §2), the bank preset's text.
BANK_REMEDIES_ZH = (
    "如对处理结果有异议，您可以：自收到本答复之日起 30 日内向上一级机构申请核查；"
    "申请第三方调解；依法申请仲裁或向人民法院起诉；拨打金融监管投诉热线 12378。"
)
BANK_REMEDIES_EN = (
    "If you disagree with this decision you may: ask the next level of the bank to review it within "
    "30 days of this reply; ask for mediation; go to arbitration or the courts; or call the financial "
    "regulator's hotline, 12378."
)

# Named sets of complaint-clock values an administrator applies in one action (docs/RULES-CITED.md
# §1–§3). Only the clock settings: opening hours, thresholds and everything else stay as they are.
PRESETS: dict[str, dict[str, Any]] = {
    # 政务服务大厅（好差评）: first contact within 1 working day; fix and feedback within 5 working
    # days (7, 10 or 15 in some provinces: edit sla_days after applying), ending at close of business.
    "hall": {
        "sla_clock": "working_days", "sla_days": 5, "sla_day_ends": "close",
        "first_contact_working_days": 1, "extension_lengths": [], "escalate_after_working_days": 3,
    },
    # 银行网点（消费投诉）: decided and answered within 15 calendar days, ending at 24:00; extended
    # to 30 and then 60 with an administrator's approval.
    "bank": {
        "sla_clock": "calendar_days", "sla_days": 15, "sla_day_ends": "midnight",
        "first_contact_working_days": 0, "extension_lengths": [15, 30], "escalate_after_working_days": 3,
        "record_retention_days": 1095,
        "remedies_zh": BANK_REMEDIES_ZH, "remedies_en": BANK_REMEDIES_EN,
    },
    # Rapport's own default: reply hours per severity, counted in opening hours.
    "generic": {
        "sla_clock": "opening_hours", "sla_days": 15, "sla_day_ends": "close",
        "first_contact_working_days": 0, "extension_lengths": [], "escalate_after_working_days": 0,
    },
}  # fmt: skip


def preset_changes(session: Session, *, preset: str, branch_id: int | None) -> list[tuple[str, Any, Any]]:
    """(setting, value in force, value after) for each setting the preset would change at a scope."""
    if preset not in PRESETS:
        raise ValidationFailed("preset", f"unknown preset {preset!r}: choose one of {', '.join(PRESETS)}")
    now = effective_policy(session, branch_id)
    return [(k, getattr(now, k), v) for k, v in PRESETS[preset].items() if getattr(now, k) != v]


def apply_preset(
    session: Session,
    *,
    preset: str,
    branch_id: int | None = None,
    actor_staff_id: int | None = None,
    now: datetime | None = None,
) -> PolicyValues:
    """Store a preset's values as the scope's overrides: one audited policy change (``preset`` named)."""
    if preset not in PRESETS:
        raise ValidationFailed("preset", f"unknown preset {preset!r}: choose one of {', '.join(PRESETS)}")
    return set_policy(
        session,
        values=dict(PRESETS[preset]),
        branch_id=branch_id,
        actor_staff_id=actor_staff_id,
        preset=preset,
        now=now,
    )
