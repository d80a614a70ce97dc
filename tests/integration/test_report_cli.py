"""`rapport report` and `rapport qr-sheet` as an operator runs them: the PDF lands where promised, the
badges scan to the public address, and every mistake gets one sentence naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from sqlmodel import select

from models.clock import parse_instant
from models.org import Branch, Role, Staff
from models.scores import local_month
from rapport.core.db import Database
from tests.conftest import DEMO_AT

PUBLIC = "https://rapport.example.cn"


def run(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``rapport`` with ``env``, every command at the same instant (the demo is the same every run)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    return subprocess.run(
        [sys.executable, "-m", "rapport", *args],
        cwd=cwd,
        env={**base, "RAPPORT_CLOCK_AT": DEMO_AT, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A data directory with three days of demo data, shared by the tests here (they only read)."""
    home = tmp_path_factory.mktemp("cli")
    env = {"RAPPORT_DATA_DIR": str(home / "data")}
    made = run("demo", "--days", "3", cwd=home, env=env)
    assert made.returncode == 0, made.stderr
    return home, env


def this_month() -> str:
    return str(local_month(parse_instant(DEMO_AT), "Asia/Shanghai"))


def pdf_pages(path: Path, scale: float = 1.0) -> list[tuple[str, object]]:
    doc = pdfium.PdfDocument(path.read_bytes())
    try:
        return [
            (doc[i].get_textpage().get_text_range(), doc[i].render(scale=scale).to_pil())
            for i in range(len(doc))
        ]
    finally:
        doc.close()


def test_report_writes_the_pdf_under_its_default_name_and_shows_progress(demo):
    home, env = demo
    month = this_month()
    result = run("report", "--branch", "BJ-RM", "--month", month, cwd=home, env=env)
    assert result.returncode == 0, result.stderr
    path = home / f"rapport-BJ-RM-{month}.pdf"
    assert f"Wrote rapport-BJ-RM-{month}.pdf" in result.stdout
    assert "100%  完成" in result.stdout and "  5%  统计网点概况" in result.stdout
    text = "".join(t for t, _ in pdf_pages(path))
    assert "人民路支行" in text and "王芳" in text and "滨江支行" not in text


def test_report_in_english_to_a_chosen_file(demo, tmp_path):
    home, env = demo
    out = tmp_path / "october.pdf"
    result = run(
        "report",
        "--branch",
        "BJ-BJ",
        "--month",
        this_month(),
        "--locale",
        "en",
        "--out",
        str(out),
        cwd=home,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    text = "".join(t for t, _ in pdf_pages(out))
    assert "Riverside Branch" in text and "Monthly service report" in text


def next_month() -> str:
    return str(local_month(parse_instant(DEMO_AT), "Asia/Shanghai").next())


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["--branch", "NOPE", "--month", "2026-10"],
            "no branch with code 'NOPE' (known branch codes: BJ-BJ, BJ-RM).",
        ),
        (
            ["--branch", "BJ-RM", "--month", "2026/10"],
            "--month '2026/10' is not a month: write it as YYYY-MM",
        ),
        (["--branch", "BJ-RM", "--month", "2026-13"], "--month '2026-13' is not a month"),
        (["--branch", "BJ-RM", "--month", "next"], "has not begun yet at BJ-RM"),
        (["--branch", "BJ-RM", "--month", "2026-10", "--locale", "fr"], "--locale must be one of zh-CN, en"),
        (
            ["--branch", "BJ-RM", "--month", "2026-10", "--out", "/no/such/dir/x.pdf"],
            "cannot write /no/such/dir/x.pdf",
        ),
    ],
)
def test_report_refuses_mistakes_with_one_sentence_and_writes_nothing(demo, args, says):
    home, env = demo
    args = [next_month() if a == "next" else a for a in args]
    before = set(home.iterdir())
    result = run("report", *args, cwd=home, env=env)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and says in lines[0], result.stderr
    assert set(home.iterdir()) == before


def test_qr_sheet_badges_scan_to_the_public_address(demo):
    home, env = demo
    result = run("qr-sheet", "--branch", "BJ-RM", cwd=home, env={**env, "RAPPORT_PUBLIC_URL": PUBLIC})
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and f"badges linking to {PUBLIC}/s/" in result.stdout
    db = Database.from_url(f"sqlite:///{home / 'data' / 'rapport.db'}")
    with db.read() as s:
        branch = s.exec(select(Branch).where(Branch.code == "BJ-RM")).one()
        people = s.exec(select(Staff).where(Staff.branch_id == branch.id, Staff.role == Role.staff)).all()
    db.dispose()
    expected = {f"{PUBLIC}/s/{p.qr_token}" for p in people if p.active}
    [(text, image)] = pdf_pages(home / "rapport-badges-BJ-RM.pdf", scale=3)
    assert "人民路支行" in text and "rapport.example.cn" in text and "郭主管" not in text
    assert len(expected) == 7
    assert {b.text for b in zxingcpp.read_barcodes(image)} == expected  # the branch's counter staff only


def test_qr_sheet_warns_when_the_public_address_is_not_set_and_refuses_an_unknown_branch(demo, tmp_path):
    home, env = demo
    out = tmp_path / "badges.pdf"
    result = run("qr-sheet", "--branch", "BJ-BJ", "--out", str(out), "--locale", "en", cwd=home, env=env)
    assert result.returncode == 0 and out.exists()
    assert "RAPPORT_PUBLIC_URL is not set" in result.stderr
    refused = run("qr-sheet", "--branch", "XX", cwd=home, env=env)
    assert refused.returncode == 2 and "no branch with code 'XX'" in refused.stderr
