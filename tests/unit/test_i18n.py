import re
from datetime import UTC, datetime

from rapport.core.i18n import LOCALES_DIR, catalog, catalog_files, fmt_datetime, fmt_due, t


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


def test_a_due_time_at_midnight_reads_as_24_00_on_the_last_day():
    # 8 October 2026, 24:00 in Shanghai is 9 October 00:00 local, 8 October 16:00 UTC.
    midnight = datetime(2026, 10, 8, 16, 0, tzinfo=UTC)
    assert fmt_due("zh-CN", midnight) == "2026年10月8日 24:00"
    assert fmt_due("en", midnight) == "Oct 8, 2026, 24:00"
    close = datetime(2026, 10, 13, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai: as any other time
    assert fmt_due("zh-CN", close) == fmt_datetime("zh-CN", close) == "2026年10月13日 17:00"
