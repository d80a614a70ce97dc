"""The kiosk's big static files (the Dart program, the renderer, fonts) go out gzip-compressed, made
once per process rather than on every page load, and come back byte for byte."""

from pathlib import Path

import pytest
from flet_web import get_package_web_dir
from starlette.testclient import TestClient

from rapport.entry import server
from rapport.entry.server import PrecompressedStatic, create_app

WEB = Path(get_package_web_dir())
WASM = (WEB / "main.dart.wasm").read_bytes()


@pytest.fixture
def client(ctx):
    with TestClient(create_app(ctx, scheduler=False)) as c:
        yield c


def test_the_dart_program_is_sent_compressed_and_decodes_to_the_same_bytes(client):
    r = client.get("/main.dart.wasm", headers={"accept-encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["content-type"] == "application/wasm"  # browsers stream-compile only this type
    assert int(r.headers["content-length"]) < len(WASM) / 2
    assert r.content == WASM  # httpx undoes the gzip
    # The same isolation headers as Flet's own responses: the renderer's threads need them.
    plain = client.get("/main.dart.wasm", headers={"accept-encoding": "identity"})
    for name in ("cross-origin-opener-policy", "cross-origin-embedder-policy", "access-control-allow-origin"):
        assert r.headers[name] == plain.headers[name]


def test_a_file_is_compressed_once_and_a_revalidation_gets_304(client, monkeypatch):
    calls = []
    real = server._compress
    monkeypatch.setattr(server, "_compress", lambda *a: calls.append(a[0]) or real(*a))
    first = client.get("/canvaskit/skwasm.wasm", headers={"accept-encoding": "gzip"})
    again = client.get("/admin/canvaskit/skwasm.wasm", headers={"accept-encoding": "gzip"})
    assert first.headers["etag"] == again.headers["etag"] and first.content == again.content
    assert calls == [WEB.resolve() / "canvaskit" / "skwasm.wasm"]  # once, for both apps
    cached = client.get(
        "/canvaskit/skwasm.wasm", headers={"accept-encoding": "gzip", "if-none-match": first.headers["etag"]}
    )
    assert cached.status_code == 304 and cached.content == b""


def test_a_browser_that_does_not_accept_gzip_gets_the_plain_file(client):
    r = client.get("/main.dart.wasm", headers={"accept-encoding": "identity"})
    assert r.status_code == 200
    assert "content-encoding" not in r.headers
    assert r.content == WASM


def test_the_admin_app_gets_the_same_files_compressed_and_head_sends_no_body(client):
    r = client.get("/admin/main.dart.wasm", headers={"accept-encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip" and r.content == WASM
    head = client.head("/admin/main.dart.wasm", headers={"accept-encoding": "gzip"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == r.headers["content-length"]


def test_the_app_font_is_served_compressed_from_the_app_assets(client):
    font = next((Path(__file__).parents[2] / "assets" / "fonts").glob("*.otf"))
    r = client.get(f"/fonts/{font.name}", headers={"accept-encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip" and r.content == font.read_bytes()


def test_the_page_itself_still_names_its_own_base_and_is_not_taken_from_the_package(client):
    # index.html is patched per app by Flet (base href, websocket path): it must not be precompressed
    # from the package's unpatched copy.
    kiosk = client.get("/", headers={"accept-encoding": "gzip"})
    admin = client.get("/admin/", headers={"accept-encoding": "gzip"})
    assert kiosk.status_code == admin.status_code == 200
    assert '<base href="/admin/">' in admin.text and '<base href="/admin/">' not in kiosk.text


def test_paths_outside_the_static_roots_are_left_to_the_app(tmp_path):
    inner = tmp_path / "web"
    inner.mkdir()
    (tmp_path / "secret.js").write_text("x" * 20_000)
    (inner / "big.js").write_text("y" * 20_000)
    (inner / "small.js").write_text("z" * 100)
    static = PrecompressedStatic(lambda *a: None, roots=[inner])  # type: ignore[arg-type]
    assert static._file("/big.js") == (inner / "big.js").resolve()
    assert static._file("/../secret.js") is None
    assert static._file("/small.js") is None  # too small to be worth keeping
    assert static._file("/missing.js") is None
