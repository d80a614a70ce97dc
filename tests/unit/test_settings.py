import os
import time
from datetime import UTC, datetime, timedelta

import pytest

from models.clock import pin, utcnow
from rapport.core.settings import SettingsError, checked_settings, load_settings, resolve_secret_key


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith("RAPPORT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_give_a_sqlite_file_in_the_data_directory(tmp_path):
    settings = load_settings(data_dir=tmp_path / "d")
    assert settings.effective_database_url == f"sqlite:///{(tmp_path / 'd' / 'rapport.db').resolve()}"
    assert (settings.host, settings.port, settings.locale) == ("127.0.0.1", 8550, "zh-CN")


def test_environment_variables_are_read(monkeypatch):
    monkeypatch.setenv("RAPPORT_PORT", "9001")
    monkeypatch.setenv("RAPPORT_LOCALE", "en")
    settings = load_settings()
    assert settings.port == 9001 and settings.locale == "en"


@pytest.mark.parametrize(
    ("var", "value", "named"),
    [
        ("RAPPORT_PORT", "99999", "RAPPORT_PORT"),
        ("RAPPORT_PORT", "eighty", "RAPPORT_PORT"),
        ("RAPPORT_LOCALE", "fr", "RAPPORT_LOCALE"),
        ("RAPPORT_ENV", "staging", "RAPPORT_ENV"),
        ("RAPPORT_PUBLIC_URL", "example.org", "RAPPORT_PUBLIC_URL"),
        ("RAPPORT_CLOCK_AT", "next tuesday", "RAPPORT_CLOCK_AT"),
        ("RAPPORT_CLOCK_AT", "2026-11-18T10:30:00", "RAPPORT_CLOCK_AT"),  # no offset: which zone?
        ("RAPPORT_WS_COMPRESSION", "sometimes", "RAPPORT_WS_COMPRESSION"),
    ],
)
def test_a_bad_setting_is_refused_with_one_sentence_naming_it(monkeypatch, var, value, named):
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert named in message and message.endswith(".") and "\n" not in message


@pytest.mark.parametrize(
    ("value", "on"),
    [(None, False), ("1", True), ("on", True), ("Yes", True), ("true", True), ("0", False), ("off", False)],
)
def test_websocket_compression_is_off_unless_switched_on(monkeypatch, value, on):
    from rapport.entry.workers import server_options

    if value is not None:
        monkeypatch.setenv("RAPPORT_WS_COMPRESSION", value)
    settings = load_settings()
    assert settings.ws_compression is on
    assert server_options(settings)["ws_per_message_deflate"] is on


def test_unknown_database_url_is_refused(tmp_path):
    with pytest.raises(SettingsError, match="RAPPORT_DATABASE_URL"):
        checked_settings(data_dir=tmp_path, database_url="mysql://root@localhost/x")


def test_unwritable_data_directory_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(SettingsError, match="RAPPORT_DATA_DIR"):
        checked_settings(data_dir=blocker / "data")


def test_production_refuses_to_start_without_a_real_secret(tmp_path):
    for secret in ("", "changeme", "short"):
        settings = load_settings(data_dir=tmp_path, env="production", secret_key=secret)
        with pytest.raises(SettingsError, match="RAPPORT_SECRET_KEY"):
            resolve_secret_key(settings)


def test_production_refuses_a_pinned_clock_and_changes_nothing(tmp_path):
    with pytest.raises(SettingsError, match="RAPPORT_CLOCK_AT") as info:
        checked_settings(
            data_dir=tmp_path, env="production", secret_key="x" * 40, clock_at="2026-11-18T10:30:00+08:00"
        )
    assert str(info.value).endswith(".")
    assert abs(utcnow() - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_pinned_clock_reads_the_given_instant_and_runs_on(tmp_path):
    try:
        checked_settings(data_dir=tmp_path, clock_at="2027-01-01T00:30:00+08:00")
        first = utcnow()
        assert timedelta(0) <= first - datetime(2026, 12, 31, 16, 30, tzinfo=UTC) < timedelta(seconds=5)
        time.sleep(0.05)
        assert utcnow() - first >= timedelta(seconds=0.05)
    finally:
        pin(None)
    assert abs(utcnow() - datetime.now(UTC)) < timedelta(seconds=5)


def test_development_generates_a_secret_once_and_keeps_it(tmp_path):
    settings = load_settings(data_dir=tmp_path)
    first = resolve_secret_key(settings)
    assert len(first) >= 32
    assert resolve_secret_key(settings) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_servers_starting_together_on_one_data_directory_do_not_trip_each_other(tmp_path):
    """Regression: a fixed probe file name let one starting server delete the other's probe, which
    then refused to start with "not a writable directory"."""
    import threading

    from rapport.core.settings import Settings, prepare_data_dir

    settings = Settings(data_dir=tmp_path)
    errors: list[Exception] = []

    def start() -> None:
        for _ in range(200):
            try:
                prepare_data_dir(settings)
            except Exception as exc:  # collected and reported below
                errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert not list(tmp_path.glob(".write-test*"))
