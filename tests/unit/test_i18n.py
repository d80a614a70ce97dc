import re
from datetime import UTC, datetime

from rapport.i18n import LOCALES_DIR, catalog, catalog_files, fmt_datetime, t


def test_both_catalogs_have_the_same_keys_and_placeholders():
    zh, en = catalog("zh-CN"), catalog("en")
    assert [p.parent for p in catalog_files("zh-CN")] == [p.parent for p in catalog_files("en")]
    assert zh.keys() == en.keys()
    for key in zh:
        assert set(re.findall(r"{(\w+)}", zh[key])) == set(re.findall(r"{(\w+)}", en[key])), key


def test_every_key_used_in_the_screens_exists_in_the_catalog():
    zh = catalog("zh-CN")
    root = LOCALES_DIR.parent.parent
    used: set[str] = set()
    for path in list((root / "kiosk").rglob("*.py")) + list((root / "admin").rglob("*.py")):
        used |= set(re.findall(r'\bt\(\s*[\w.]+,\s*"([\w.]+)"', path.read_text(encoding="utf-8")))
    assert used, "the scan found no keys"
    assert sorted(used - zh.keys()) == []


def test_chinese_catalog_is_simplified_chinese_without_scraping_artefacts():
    text = "".join(p.read_text(encoding="utf-8") for p in catalog_files("zh-CN"))
    for traditional in "務業個規範為與對發處應":
        assert traditional not in text


def test_times_are_shown_to_the_minute_in_the_branch_time_zone():
    at = datetime(2026, 11, 30, 0, 5, tzinfo=UTC)
    assert fmt_datetime("zh-CN", at) == "2026年11月30日 08:05"
    assert fmt_datetime("en", at) == "Nov 30, 2026 8:05 AM"


def test_a_missing_key_shows_itself_rather_than_a_blank():
    assert t("en", "no.such.key") == "no.such.key"
    assert t("fr", "kiosk.question") == t("zh-CN", "kiosk.question")
