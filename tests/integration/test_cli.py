"""The `rapport` command as an operator meets it: clear refusals, repeatable upgrades, demo data."""

import os
import subprocess
import sys

import pytest


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    return subprocess.run(
        [sys.executable, "-m", "rapport", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"RAPPORT_PORT": "eighty"}, "RAPPORT_PORT"),
        ({"RAPPORT_DATABASE_URL": "oracle://x"}, "RAPPORT_DATABASE_URL"),
        ({"RAPPORT_ENV": "production"}, "RAPPORT_SECRET_KEY"),
        ({"RAPPORT_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}, "RAPPORT_DATABASE_URL"),
    ],
)
def test_serve_refuses_a_bad_configuration_with_one_sentence(tmp_path, env, named):
    result = run("serve", env={"RAPPORT_DATA_DIR": str(tmp_path), **env})
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and named in lines[0], result.stderr


def test_serve_refuses_an_unwritable_data_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run("serve", env={"RAPPORT_DATA_DIR": str(blocker / "data")})
    assert result.returncode == 2 and "RAPPORT_DATA_DIR" in result.stderr


def test_upgrade_twice_then_demo_once_then_demo_if_empty_is_a_no_op(tmp_path):
    env = {"RAPPORT_DATA_DIR": str(tmp_path)}
    assert run("db", "upgrade", env=env).returncode == 0
    assert run("db", "upgrade", env=env).returncode == 0
    demo = run("demo", "--days", "2", env=env)
    assert demo.returncode == 0, demo.stderr
    token_lines = [line for line in demo.stdout.splitlines() if "token" in line]
    assert token_lines and len(token_lines[0].split()[-1]) >= 40
    assert "admin" in demo.stdout
    again = run("demo", "--if-empty", env=env)
    assert again.returncode == 0 and "nothing to do" in again.stdout
    refused = run("demo", env=env)
    assert refused.returncode == 2 and "already has data" in refused.stderr


def test_enrolment_codes_are_issued_for_known_counters_only(tmp_path):
    env = {"RAPPORT_DATA_DIR": str(tmp_path)}
    run("demo", "--days", "1", env=env)
    ok = run("device", "enrol-code", "BJ-RM-01", env=env)
    assert ok.returncode == 0 and "/enrol/" in ok.stdout
    missing = run("device", "enrol-code", "NOPE", env=env)
    assert missing.returncode == 2 and "NOPE" in missing.stderr


def test_audit_verify_reports_an_intact_chain_and_names_a_broken_entry(tmp_path):
    import sqlite3

    from models.audit import append
    from rapport.core.db import Database

    env = {"RAPPORT_DATA_DIR": str(tmp_path)}
    assert run("db", "upgrade", env=env).returncode == 0
    db = Database.from_url(f"sqlite:///{tmp_path / 'rapport.db'}")
    for i in range(3):
        with db.write() as s:
            append(s, action="test", entity="thing", entity_id=i)
            s.commit()
    db.dispose()
    ok = run("audit", "verify", env=env)
    assert ok.returncode == 0 and "3 entries" in ok.stdout
    with sqlite3.connect(tmp_path / "rapport.db") as conn:
        conn.execute("UPDATE audit_event SET action = 'other' WHERE id = 2")
    broken = run("audit", "verify", env=env)
    assert broken.returncode == 1 and "entry 2" in broken.stderr


def test_user_create_makes_an_account_that_can_sign_in_and_refuses_bad_input(tmp_path):
    from models.auth import authenticate
    from rapport.core.db import Database

    env = {"RAPPORT_DATA_DIR": str(tmp_path)}
    run("demo", "--days", "1", env=env)
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}

    def create(*args: str, password: str = "long enough pass 1") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "rapport", "user", "create", *args], env={**base, **env},
            input=f"{password}\n{password}\n", capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    ok = create("--employee-no", "S900", "--name", "新主管", "--role", "supervisor", "--branch", "BJ-RM")
    assert ok.returncode == 0, ok.stderr
    db = Database.from_url(f"sqlite:///{tmp_path / 'rapport.db'}")
    with db.write() as s:
        staff, token = authenticate(s, login="s900", password="long enough pass 1", client="cli-test")
        assert staff.role == "supervisor" and token
    db.dispose()
    no_branch = create("--employee-no", "S901", "--name", "x", "--role", "supervisor")
    assert no_branch.returncode == 2 and "branch" in no_branch.stderr
    weak = create("--employee-no", "S902", "--name", "x", "--branch", "BJ-RM", password="123")
    assert weak.returncode == 2 and "password" in weak.stderr


def test_serve_in_one_process_tunes_the_garbage_collector_as_each_worker_does(tmp_path, monkeypatch):
    # With Python's default thresholds, full collections paused the one event loop for 0.1 s and
    # more under load (docs/PERFORMANCE.md); several workers had the tuning, one process did not.
    import gc

    import uvicorn
    from typer.testing import CliRunner

    from rapport.entry.cli import app
    from rapport.entry.workers import GC_THRESHOLDS

    seen: list[tuple[int, ...]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.append(gc.get_threshold()))
    monkeypatch.setattr("rapport.core.logs.setup_logging", lambda *args, **kwargs: None)
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("RAPPORT_")}
    before = gc.get_threshold()
    try:
        result = CliRunner().invoke(app, ["serve"], env={**env, "RAPPORT_DATA_DIR": str(tmp_path)})
    finally:
        gc.set_threshold(*before)
    assert result.exit_code == 0, result.output
    assert seen == [GC_THRESHOLDS] != [before]
