"""Issue 19: every text colour of the customer screens has a contrast of at least 4.5:1 with every
background it is drawn on (WCAG 2.x, 1.4.3), measured from the theme's colours, not from a screenshot.

The text colours and backgrounds are rapport/ui/ui_theme.py's (the kiosk's kiosk/ui.py takes them
from there; Flutter's own text roles are pinned to them in the colour scheme). Icons are not text:
WCAG 1.4.11 asks 3:1 of them against the white they sit on. No text here is marked large, so no
text gets the 3:1 allowance. Every colour literal in kiosk/ and rapport/ui/ must be classified
below, so a new colour cannot slip in unmeasured."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kiosk.ui import FACES
from rapport.ui import ui_theme
from rapport.ui.ui_theme import BACKGROUNDS, TEXT_COLOURS, WHITE, contrast

ROOT = Path(__file__).resolve().parents[2]
TEXT_MIN, ICON_MIN = 4.5, 3.0

# Colours written into a screen rather than taken from the theme, by what they colour.
OTHER_TEXT = {"#5F6368": "the large-text toggle's words while off (kiosk/large_text.py)"}
OTHER_BACKGROUNDS = {"#FFF4CC": "the large-text toggle while on (kiosk/large_text.py)"}
ICONS = {colour: f"face {score}" for score, (_icon, colour) in FACES.items()} | {
    "#8A8F98": "the staff sign-in badge in the header (kiosk/screens/frame.py)",
    "#2E7D32": "the thank-you tick (kiosk/screens/thanks.py)",
    "#C62828": "the failed-save icon (kiosk/screens/status.py)",
    "#B8860B": "the service star on the welcome screen (kiosk/screens/welcome.py)",
}


def test_the_formula_matches_wcag_reference_values():
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast("#FFFFFF", "#FFFFFF") == pytest.approx(1.0)
    assert contrast("#767676", "#FFFFFF") == pytest.approx(4.54, abs=0.01)  # the lightest grey that passes


ALL_BACKGROUNDS = [*BACKGROUNDS, *OTHER_BACKGROUNDS]


@pytest.mark.parametrize("name", sorted(TEXT_COLOURS))
@pytest.mark.parametrize("background", ALL_BACKGROUNDS)
def test_every_theme_text_colour_on_every_background(name, background):
    ratio = contrast(TEXT_COLOURS[name], background)
    assert ratio >= TEXT_MIN, f"{name} {TEXT_COLOURS[name]} on {background}: {ratio:.2f}:1"


@pytest.mark.parametrize("colour", sorted(OTHER_TEXT))
def test_other_text_colours_on_the_backgrounds_they_use(colour):
    # The large-text toggle's words are grey only while it is off, on white.
    assert contrast(colour, WHITE) >= TEXT_MIN, f"{OTHER_TEXT[colour]}: {contrast(colour, WHITE):.2f}:1"


def test_flutter_draws_its_own_text_in_the_theme_colours():
    """A button's words, a field's label, counter and hint, an error: Flutter takes them from the
    colour scheme, pinned to the measured colours rather than derived from the seed."""
    scheme = ui_theme.color_scheme()
    assert scheme.primary == ui_theme.ACCENT
    assert scheme.on_surface == ui_theme.INK
    assert scheme.on_surface_variant == ui_theme.MUTED
    assert scheme.error == ui_theme.ERROR
    assert contrast(str(scheme.on_primary), ui_theme.ACCENT) >= TEXT_MIN  # words on a filled button
    assert contrast(str(scheme.on_error), ui_theme.ERROR) >= TEXT_MIN


@pytest.mark.parametrize("colour", sorted(ICONS))
def test_icons_stand_out_from_white(colour):
    ratio = contrast(colour, WHITE)
    assert ratio >= ICON_MIN, f"{ICONS[colour]} {colour}: {ratio:.2f}:1"


def test_every_colour_in_the_customer_code_is_measured():
    known = {c.upper() for c in [*TEXT_COLOURS.values(), *ALL_BACKGROUNDS, *OTHER_TEXT, *ICONS]}
    found: dict[str, str] = {}
    for path in [*(ROOT / "kiosk").rglob("*.py"), *(ROOT / "rapport" / "ui").rglob("*.py")]:
        for colour in re.findall(r'"(#[0-9A-Fa-f]{6})"', path.read_text(encoding="utf-8")):
            found.setdefault(colour.upper(), str(path.relative_to(ROOT)))
    unknown = {c: where for c, where in found.items() if c not in known}
    assert not unknown, f"colours not measured here (say what they colour in this test): {unknown}"
