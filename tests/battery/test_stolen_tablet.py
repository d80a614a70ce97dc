"""Someone walks off with a counter tablet: an administrator revokes it and its token stops working
everywhere at once, while the ratings it collected stay."""

from __future__ import annotations

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from kiosk import backend as kiosk
from models.audit import AuditEvent, verify
from models.devices import authenticate_device, list_devices, revoke_device
from models.errors import DeviceNotAuthorized
from models.rating import Rating
from rapport.entry.server import create_app
from tests.battery.support import rapport
from tests.serving import clean_env


def test_a_revoked_tablet_is_refused_everywhere_and_its_ratings_stay(ctx, world, db):
    kiosk.submit_tap(ctx, device_token=world.device_token, idempotency_key="before", score=5, staff_no=None)
    with db.write() as s:
        device = authenticate_device(s, world.device_token)
        assert device.id is not None
        revoke_device(s, device_id=device.id, actor_staff_id=None)
        revoke_device(s, device_id=device.id, actor_staff_id=None)  # twice: one audit entry
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "device.revoke")).all()) == 1
        assert verify(s).ok
    with pytest.raises(DeviceNotAuthorized):
        kiosk.load_counter(ctx, world.device_token)
    with pytest.raises(DeviceNotAuthorized):
        kiosk.submit_tap(
            ctx, device_token=world.device_token, idempotency_key="after", score=1, staff_no=None
        )
    client = TestClient(create_app(ctx, scheduler=False))
    r = client.post(
        "/api/v1/ratings",
        json={"score": 1},
        headers={"Authorization": f"Bearer {world.device_token}", "Idempotency-Key": "after-api"},
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    with db.read() as s:
        assert [r.idempotency_key for r in s.exec(select(Rating)).all()] == ["before"]
        listed = {d.id: (d.revoked_at is not None, c.code) for d, c in list_devices(s)}
    assert listed[device.id] == (True, "A-01")


def test_the_cli_lists_and_revokes_devices_and_names_an_unknown_id(tmp_path):
    env = clean_env(RAPPORT_DATA_DIR=str(tmp_path))
    assert rapport("demo", "--days", "1", env=env).returncode == 0
    listed = rapport("device", "list", "--counter", "BJ-RM-01", env=env)
    assert listed.returncode == 0 and "BJ-RM-01" in listed.stdout and "active" in listed.stdout
    device_id = listed.stdout.split()[0]
    revoked = rapport("device", "revoke", device_id, env=env)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert "revoked" in rapport("device", "list", "--counter", "BJ-RM-01", env=env).stdout
    unknown = rapport("device", "revoke", "9999", env=env)
    assert unknown.returncode == 2 and "9999" in unknown.stderr and "device list" in unknown.stderr
