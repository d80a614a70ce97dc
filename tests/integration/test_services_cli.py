"""`rapport services import|list` and `rapport device token`: what a hall runs to let its queue system
report transactions (docs/OPERATIONS.md "Transactions and invitations")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlmodel import select

from models.audit import AuditEvent
from models.crypto import token_digest
from models.org import Device
from models.services import ServiceItem
from rapport.core.db import Database

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "RAPPORT_DATA_DIR": str(data),
        "RAPPORT_CLOCK_AT": "2026-11-18T10:30:00+08:00",
    }
    return subprocess.run(
        [sys.executable, "-m", "rapport", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_hall_imports_its_services_and_gets_a_token_for_its_queue_system(tmp_path: Path) -> None:
    assert run("demo", "--days", "1", data=tmp_path).returncode == 0
    good = tmp_path / "services.csv"
    good.write_text(
        "code,name_zh,name_en,version,department_code\n"
        "SB-001,社会保障卡申领,Social security card,2,440304SB\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name_zh\nSB-002,\n", encoding="utf-8")
    refused = run("services", "import", str(bad), data=tmp_path)
    assert (
        refused.returncode == 2 and "line 2: the service needs a name; nothing was imported" in refused.stderr
    )
    missing = run("services", "import", str(tmp_path / "nowhere.csv"), data=tmp_path)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    done = run("services", "import", str(good), data=tmp_path)
    assert done.returncode == 0 and "1 service(s) added, 0 updated" in done.stdout
    listed = run("services", "list", data=tmp_path)
    assert "SB-001  v2  440304SB  社会保障卡申领 / Social security card" in listed.stdout

    issued = run("device", "token", "BJ-RM-01", "--label", "queue system", data=tmp_path)
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.splitlines()[-1]
    assert len(token) >= 40
    assert run("device", "token", "NOPE", data=tmp_path).returncode == 2
    db = Database.from_url(f"sqlite:///{tmp_path / 'rapport.db'}")
    with db.read() as s:
        device = s.exec(select(Device).where(Device.token_digest == token_digest(token))).one()
        assert device.label == "queue system" and device.revoked_at is None
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "device.token")).one().entity_id == str(
            device.id
        )
        imported = s.exec(select(ServiceItem).where(ServiceItem.code == "SB-001")).one()
        assert imported.name_zh == "社会保障卡申领"
    db.dispose()
