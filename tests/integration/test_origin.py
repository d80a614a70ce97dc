"""A websocket from a foreign site is refused; the app's own pages connect."""

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from rapport.entry.server import create_app


@pytest.fixture
def client(ctx):
    # The test client's websocket handshake names the host "testserver".
    with TestClient(create_app(ctx)) as c:
        yield c


def test_a_websocket_from_a_foreign_origin_is_refused(client):
    with pytest.raises(WebSocketDisconnect) as info:
        with client.websocket_connect("/admin/ws", headers={"origin": "https://evil.example"}) as ws:
            ws.receive_bytes()
    assert info.value.code == 1008


def test_a_websocket_from_the_same_origin_is_accepted(client):
    with client.websocket_connect("/admin/ws", headers={"origin": "http://testserver"}) as ws:
        ws.close()


def test_the_configured_public_url_is_an_accepted_origin(ctx):
    ctx.settings.public_url = "https://feedback.example.cn"
    with TestClient(create_app(ctx)) as c:
        with c.websocket_connect("/ws", headers={"origin": "https://feedback.example.cn"}) as ws:
            ws.close()
