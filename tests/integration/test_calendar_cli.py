"""`rapport calendar`, `rapport policy preset` and `rapport sla due` as an administrator runs them on
the demo database: the worked examples of the 民法典 rule come out of the command line too."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_report_cli import run


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    home = tmp_path_factory.mktemp("clocks")
    env = {"RAPPORT_DATA_DIR": str(home / "data")}
    made = run("demo", "--days", "3", cwd=home, env=env)
    assert made.returncode == 0, made.stderr
    # The demo runs in November 2026: it brings 2026's calendar, and 2027's only once the package
    # has it (chinese-calendar 1.11.0 does not); either way it says which.
    assert "Working-day calendar (holidays and make-up days) imported for 2026" in made.stdout
    assert ", 2027." in made.stdout or "No published holidays for 2027 in chinese-calendar yet" in made.stdout
    return home, env


def rapport(demo: tuple[Path, dict[str, str]], *args: str):  # type: ignore[no-untyped-def]
    home, env = demo
    return run(*args, cwd=home, env=env)


def test_the_hall_preset_gives_the_worked_examples_due_times(demo):
    again = rapport(demo, "calendar", "import", "2026")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("Imported 2026 for the whole deployment from chinese-calendar ")
    assert again.stdout.endswith(": 33 holidays, 6 make-up working days.\n")
    shown = rapport(demo, "calendar", "show", "2026").stdout
    assert "2026-09-20 Sun  workday" in shown and "2026-10-01 Thu  holiday  National Day" in shown
    preset = rapport(demo, "policy", "preset", "hall", "--branch", "BJ-RM")
    assert preset.returncode == 0, preset.stderr
    assert "sla_clock: opening_hours -> working_days" in preset.stdout
    monday = rapport(demo, "sla", "due", "--branch", "BJ-RM", "--filed", "2026-11-30T16:00")
    assert monday.returncode == 0, monday.stderr
    assert "first_contact  2026-12-01 17:00 (Tue)  1 working day\n" in monday.stdout
    assert "reply  2026-12-07 17:00 (Mon)  5 working days, ending at close of business" in monday.stdout
    national_day = rapport(demo, "sla", "due", "--branch", "BJ-RM", "--filed", "2026-09-30T10:00+08:00",
                           "--clock", "reply")  # fmt: skip
    assert (
        "reply  2026-10-13 17:00 (Tue)" in national_day.stdout and "first_contact" not in national_day.stdout
    )


def test_the_bank_preset_ends_on_the_first_working_day_after_the_holiday_at_24_00(demo):
    assert rapport(demo, "policy", "preset", "bank", "--branch", "BJ-RM").returncode == 0
    due = rapport(demo, "sla", "due", "--branch", "BJ-RM", "--filed", "2026-09-17T10:00")
    assert "reply  2026-10-08 24:00 (Thu)  15 calendar days, ending at 24:00" in due.stdout
    assert "first_contact  (no separate clock in this policy)" in due.stdout
    again = rapport(demo, "policy", "preset", "bank", "--branch", "BJ-RM")
    assert "its values were already in force" in again.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("calendar", "import", "2003"), "has no holidays for 2003 (it covers 2004 to 20"),
        (("policy", "preset", "shop"), "unknown preset 'shop': choose one of hall, bank, generic."),
        (("policy", "preset", "hall", "--branch", "XX"), "no branch with code 'XX'"),
        (
            ("sla", "due", "--branch", "BJ-RM", "--filed", "next monday"),
            "--filed 'next monday' is not a time",
        ),
        (
            ("sla", "due", "--branch", "BJ-RM", "--filed", "2026-11-30T16:00", "--clock", "lunch"),
            "--clock must be",
        ),
    ],
)
def test_mistakes_get_one_sentence_and_exit_2(demo, args, says):
    result = rapport(demo, *args)
    assert result.returncode == 2 and says in result.stderr, result.stderr
