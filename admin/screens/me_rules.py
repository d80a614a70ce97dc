"""My rules, on my page: every rule that can reward or penalise me, in plain words written from the
settings in force, and every version with when it was adopted and published (劳动合同法 §4: rules on
pay and discipline bind staff once made known to them; docs/RULES-CITED.md §4).

The sentences are generated from the policy values, never typed by hand, so what staff read is what
the monthly evaluation does; :func:`plain_words` is pure and tested in both languages."""

from __future__ import annotations

from typing import Any

import flet as ft

from admin import staff_portal as portal
from admin.screens.common import INK, MUTED
from admin.screens.me_parts import day, when
from admin.screens.widgets import card, heading
from rapport.core.i18n import fmt_number, t


def _points(locale: str, value: float) -> str:
    return fmt_number(locale, value, 1)


def _margin(locale: str, value: float) -> str:
    return t(locale, "me.rules.margin", m=_points(locale, value)) if value > 0 else ""


def plain_words(locale: str, v: dict[str, Any]) -> dict[str, list[str]]:
    """The rules as sentences, by part ("rewards", "penalties", "appeals"), from the policy values."""
    relative = v["reward_basis"] == "relative"
    margin = _margin(locale, float(v["reward_min_above_mean"]))
    rewards = [t(locale, "me.rules.ranked", n=v["min_ratings_ranked"], prior=v["score_prior_weight"])]
    if v.get("default_rating_days"):  # a transaction nobody rated gets the default (models/default_rating.py)
        level = t(locale, f"kiosk.score.{v['default_rating_score']}")
        counted = "me.rules.default.counted" if v["default_rating_counted"] else "me.rules.default.apart"
        rewards.append(
            t(locale, "me.rules.default", days=v["default_rating_days"], level=level) + t(locale, counted)
        )
    if not v["service_star_enabled"]:
        rewards.append(t(locale, "me.rules.star.off"))
    elif relative:
        rewards.append(t(locale, "me.rules.star.relative", margin=margin))
    else:
        rewards.append(t(locale, "me.rules.star.absolute", min=_points(locale, v["service_star_min_score"])))
    if v["service_star_enabled"] and v["service_star_bonus_yuan"]:
        rewards.append(t(locale, "me.rules.star.bonus", amount=v["service_star_bonus_yuan"]))
    if relative:
        share = f"{round(float(v['commendation_top_share']) * 100)}%"
        rewards.append(t(locale, "me.rules.commend.relative", margin=margin, share=share))
    else:
        rewards.append(
            t(locale, "me.rules.commend.absolute", min=_points(locale, v["commendation_min_score"]))
        )
    rewards.append(t(locale, "me.rules.proposals"))

    inspection = t(locale, "me.rules.trigger.inspection") if v["inspection_violation_penalty"] else ""
    penalties = [t(locale, "me.rules.trigger", n=v["complaints_for_penalty"], inspection=inspection)]
    ladder = "me.rules.ladder" if v["penalty_deduction_yuan"] else "me.rules.ladder.criticism"
    penalties.append(
        t(
            locale,
            ladder,
            amount=v["penalty_deduction_yuan"],
            n=v["dismissal_after_penalties"],
            months=v["escalation_lookback_months"],
        )  # fmt: skip
    )
    cap = v["deduction_cap_yuan_per_month"]
    penalties.append(t(locale, "me.rules.cap", cap=cap) if cap else t(locale, "me.rules.cap.zero"))
    penalties.append(t(locale, "me.rules.fines.on" if v["fines_enabled"] else "me.rules.fines.off"))
    appeals = [t(locale, "me.rules.appeal", window=v["appeal_window_days"], decide=v["appeal_decision_days"])]
    return {"rewards": rewards, "penalties": penalties, "appeals": appeals}


def _version(locale: str, r: portal.RuleVersion, tz: str) -> ft.Control:
    published = when(locale, r.published_at, tz) if r.published_at else "—"
    scope = t(locale, f"me.rules.scope.{r.scope}")
    adopted = (
        t(locale, "me.rules.adopted", on=day(locale, r.adopted_on, tz), how=r.adopted_how)
        if r.adopted_on is not None
        else t(locale, "me.rules.adopted.none")
    )
    return ft.Column(
        [
            ft.Text(
                t(locale, "me.rules.version.line", version=r.version, scope=scope, published=published),
                color=INK,
                weight=ft.FontWeight.W_500,
            ),
            ft.Text(adopted, color=MUTED if r.adopted_on is None else INK),
        ],
        spacing=0,
        key=f"me-rules-version-{r.scope}-{r.version}",
    )


def rules_tab(locale: str, rules: portal.MyRules, tz: str) -> list[ft.Control]:
    words = plain_words(locale, rules.values)
    parts: list[ft.Control] = [ft.Text(t(locale, "me.rules.intro"), color=MUTED, key="me-rules-intro")]
    for part in ("rewards", "penalties", "appeals"):
        parts.append(
            card(
                heading(t(locale, f"me.rules.{part}")),
                *(ft.Text(f"• {line}", color=INK, selectable=False) for line in words[part]),
                key=f"me-rules-{part}",
            )
        )
    versions: list[ft.Control] = [_version(locale, r, tz) for r in rules.versions]
    if not versions:
        versions.append(ft.Text(t(locale, "me.rules.versions.none"), color=MUTED))
    parts.append(card(heading(t(locale, "me.rules.versions")), *versions, key="me-rules-versions"))
    return parts
