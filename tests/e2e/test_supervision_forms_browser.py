"""The supervisor's inspection and training forms draw, at tablet and phone size (Chromium).

Both forms once put a field that expands in a wrapping row, which Flutter cannot lay out: the whole
form was one grey error box, with nothing in the semantics tree, while every in-process UI test
passed (they do not lay anything out). Here the form's staff field, kind field and save button must
be in the accessibility tree, and on a phone nothing may reach past the window's edge.
Screenshots: test-artifacts/screenshots/supervision-{inspections,training}-{tablet,phone}.png.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import assert_fits_width, button, open_page, open_section, screenshot, sign_in_admin

pytestmark = pytest.mark.e2e

FORMS = {
    # section: (the staff field's label, the kind field's label, the save button)
    "检查": ("被检查员工", "检查类型", "保存检查"),
    "培训": ("员工", "培训类型", "保存培训记录"),
}


@pytest.mark.parametrize("size", ["tablet", "phone"])
def test_the_inspection_and_training_forms_draw(server, browser, size):  # type: ignore[no-untyped-def]
    page = open_page(browser, server.url + "/admin", size)
    try:
        sign_in_admin(page, "sup.renmin", "demo-sup.renmin", page.get_by_text("投诉队列", exact=True))
        for section, (staff, kind, save) in FORMS.items():
            open_section(page, section)
            button(page, save).wait_for()
            name = "inspections" if section == "检查" else "training"
            screenshot(page, f"supervision-{name}-{size}")
            for label in (staff, kind):
                # named_dropdown: a button named "<label>" or "<label>: <choice>"
                page.get_by_role("button", name=re.compile(rf"^{re.escape(label)}(: |$)")).first.wait_for()
            if size == "phone":
                assert_fits_width(page, f"the {name} form on a phone")
    finally:
        page.context.close()
