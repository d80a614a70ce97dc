"""What a screen reader hears, shared by the kiosk and the admin app (issue 19; docs/ACCESSIBILITY.md).

Flutter web draws on a canvas; a screen reader reads the semantics tree Flutter builds beside it.
Three things decide what it hears:

* **The page's language.** Flet tells Flutter "en-US" unless the page says otherwise: the document
  then carries ``lang="en-US"`` (a screen reader picks an English voice for Chinese text) and every
  word Flutter writes itself is English, the announcement of a length-limited field ("N characters
  remaining") among them. :func:`set_language` gives Flutter the screen's language, so those words
  come from Flutter's own Chinese catalog ("还可输入 N 个字符") and the document says ``lang="zh-CN"``.
* **Selectable text.** ``ft.Text(selectable=True)`` becomes a disabled, unnamed text field whose
  value Flutter fills in only while it has the focus: the tree holds an empty node. :func:`spoken`
  gives it its words, so it is read as text.
* **Codes.** A tracking code read as a word ("ABCDE") is useless; :func:`spell_code` spells it out,
  character by character, in its groups. Where the code is also shown as written beside its spelled
  form, :func:`seen_only` keeps the written one out of the tree, so it is not read twice.
"""

from __future__ import annotations

from typing import Any

import flet as ft

from models.bilingual import is_zh
from rapport.core.i18n import t

FLUTTER_LOCALES = {"zh-CN": ft.Locale("zh", "CN"), "en": ft.Locale("en", "US")}
# Every language the apps speak, Chinese first: Flutter falls back to the first entry.
SUPPORTED = [FLUTTER_LOCALES["zh-CN"], ft.Locale("zh"), FLUTTER_LOCALES["en"], ft.Locale("en")]


def flutter_locale(locale: str) -> ft.Locale:
    return FLUTTER_LOCALES["zh-CN"] if is_zh(locale) else FLUTTER_LOCALES["en"]


def set_language(page: ft.Page, locale: str) -> None:
    """Tell Flutter the screen's language (the next ``page.update()`` sends it). Call it whenever a
    screen is drawn; it changes the page only when the language did."""
    wanted = flutter_locale(locale)
    current = page.locale_configuration
    if current is not None and current.current_locale == wanted:
        return
    page.locale_configuration = ft.LocaleConfiguration(supported_locales=SUPPORTED, current_locale=wanted)


def spell_code(locale: str, code: str) -> str:
    """A code as a screen reader should say it: "跟踪码 3 4 7 9 A，C D E F 4" / "tracking code 3 4 7 9
    A, C D E F 4" — each character on its own, the groups (split at the hyphen) apart."""
    groups = [" ".join(group) for group in code.strip().upper().split("-") if group]
    sep = "，" if is_zh(locale) else ", "
    return t(locale, "a11y.code", code=sep.join(groups))


def spoken(
    value: str, *, label: str | None = None, selectable: bool = False, live: bool = False, **style: Any
) -> ft.Control:
    """A text a customer (or a member of staff) must be able to hear: in the semantics tree, in the
    screen's language, with ``label`` said instead of ``value`` when given (a code spelled out).
    ``live`` marks a message that appears after an action (a thank-you, an error) as a live region,
    so a screen reader says it without the customer having to look for it.

    ``style`` goes to the ``ft.Text`` (size, colour, weight, key ...), so ``key`` stays on the text
    and in-process tests read its ``value`` as before. A selectable text stays selectable on screen
    and is given its own words as its label: without one Flutter web exposes it as a disabled,
    unnamed text field whose value it fills in only while it has the focus (axe: "Form elements must
    have labels", critical), with one it is plain text like any other."""
    if selectable:
        label = label or value
    text = ft.Text(value, selectable=selectable or None, semantics_label=label, **style)
    return ft.Semantics(live_region=True, content=text) if live else text


def seen_only(control: ft.Control) -> ft.Control:
    """``control`` on screen but not in the semantics tree: for what is said elsewhere already (a code
    shown as written under the caption that spells it out), so a screen reader does not read it twice.
    It can then not be found by its text in the browser either, only seen."""
    return ft.Semantics(exclude_semantics=True, content=control)
