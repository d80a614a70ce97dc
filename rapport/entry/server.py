"""The one ASGI app: HTTP API, health check, the admin Flet app at /admin and the kiosk at /."""

from __future__ import annotations

import asyncio
import gzip
import mimetypes
import os
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

import flet.fastapi as flet_fastapi
from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from flet_web import get_package_web_dir
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from admin.app import build_admin_main
from kiosk.app import build_kiosk_main
from rapport.core.context import ASSETS_DIR, AppContext
from rapport.core.counter_signals import counter_probe_router
from rapport.core.live import alert_probe_router
from rapport.core.logs import RequestLog
from rapport.core.migrate import current_revision, head_revision
from rapport.core.origin import OriginCheck
from rapport.core.relay import Relays
from rapport.entry.api import ComplaintsEndpoint, RatingsEndpoint, build_router
from rapport.entry.openapi import OPENAPI_PATH, openapi_document
from rapport.entry.socket_end import EndWithClient
from rapport.usecases.scheduler import Background

# A customer's session is short; a disconnected one should not linger for Flet's default hour.
KIOSK_SESSION_TIMEOUT_S = 300
ADMIN_SESSION_TIMEOUT_S = 900


def create_app(ctx: AppContext, *, scheduler: bool = True, workers: int = 1) -> flet_fastapi.FastAPI:
    """The app of one server process; ``workers``: how many processes serve the port together
    (``rapport serve --workers``, rapport/entry/workers.py)."""
    # Leader election (only the leader runs the jobs) and, on PostgreSQL, alerts across app servers.
    background = Background(ctx, scheduler=scheduler)
    # Counter nudges across servers on PostgreSQL; alerts and nudges across workers on SQLite.
    relays = Relays(db=ctx.db, bus=ctx.alerts, counters=ctx.counters, workers=workers)

    app = flet_fastapi.FastAPI(
        title="Rapport", docs_url=None, redoc_url=None, openapi_url=None,
        on_startup=[background.start, relays.start], on_shutdown=[relays.stop, background.stop],
    )  # fmt: skip
    # The API's description is written by hand (rapport/entry/openapi.py), not FastAPI's generated one:
    # that would list only the framework's own routes, not the ratings endpoint in front of it. Its
    # route comes before the API's router, whose last route answers every other path under /api/v1.
    description = openapi_document(ctx.settings.effective_public_url)

    @app.get(OPENAPI_PATH, include_in_schema=False)
    async def openapi_json() -> JSONResponse:
        return JSONResponse(description)

    app.include_router(build_router(ctx), prefix="/api/v1")
    if os.environ.get("RAPPORT_ALERT_PROBE") == "1":  # test-only: see rapport/core/live.alert_probe_router
        app.include_router(alert_probe_router(ctx.alerts))
        app.include_router(counter_probe_router(ctx.counters))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    head = head_revision()  # the code's newest migration: fixed for the life of the process

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        """Ready when the database answers and its schema is the code's head (else 503)."""
        try:
            revision = await asyncio.to_thread(current_revision, ctx.db.engine)
        except Exception:
            return JSONResponse({"status": "database unreachable"}, status_code=503)
        if revision != head:
            pending = {"status": "migrations pending", "database_revision": revision, "code_revision": head}
            return JSONResponse({**pending, "hint": "run `rapport db upgrade`"}, status_code=503)
        return JSONResponse({"status": "ready"})

    @app.get("/admin", include_in_schema=False)
    async def admin_slash(request: Request) -> Response:
        # Without the slash the kiosk app (mounted at /) would answer and treat it as its own route.
        return RedirectResponse("/admin/", status_code=308)

    common = {"no_cdn": True, "assets_dir": str(ASSETS_DIR)}
    # Each screen's websocket handler ends when its client goes, with or without a session
    # (rapport/entry/socket_end.py).
    app.mount(
        "/admin",
        EndWithClient(
            flet_fastapi.app(
                build_admin_main(ctx),
                app_name="Rapport Admin",
                session_timeout_seconds=ADMIN_SESSION_TIMEOUT_S,
                **common,
            )
        ),
    )
    app.mount(
        "/",
        EndWithClient(
            flet_fastapi.app(
                build_kiosk_main(ctx),
                app_name="Rapport",
                session_timeout_seconds=KIOSK_SESSION_TIMEOUT_S,
                **common,
            )
        ),
    )
    # Flet's own server does not compress; main.dart.wasm alone is several MB. The big static files
    # are compressed once (PrecompressedStatic, inside); everything else on the fly.
    app.add_middleware(PrecompressedStatic, roots=(ASSETS_DIR, Path(get_package_web_dir())))
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    # The hot paths (every integration's rating, and complaints) answer here, before the gzip layers
    # and FastAPI.
    app.add_middleware(ComplaintsEndpoint, ctx=ctx)
    app.add_middleware(RatingsEndpoint, ctx=ctx)
    app.add_middleware(OriginCheck, public_url=ctx.settings.public_url)
    app.add_middleware(RequestLog)  # outermost: every request gets an id and one access-log line
    return app


# ---------------------------------------------------------------------------------------------------
# Static files compressed once

# What a page load fetches that is worth compressing: the Dart program, the renderer, fonts.
COMPRESSIBLE = {".wasm", ".js", ".mjs", ".json", ".otf", ".ttf", ".css", ".svg"}
PRECOMPRESS_MIN_BYTES = 8 * 1024
# Flet patches these per app (base href, websocket path) in a directory of its own; they stay with it.
FLET_PATCHED = {"index.html", "manifest.json", "assets/FontManifest.json"}
MOUNTS = ("/admin/",)  # the admin app serves the same files under its own prefix
mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("font/otf", ".otf")


@dataclass(frozen=True)
class _Compressed:
    body: bytes
    stamp: tuple[int, int]  # the file's (mtime_ns, size) it was made from
    etag: str
    headers: list[tuple[bytes, bytes]]


class PrecompressedStatic:
    """Serve Flet's large static files gzip-compressed once per process instead of once per request.

    GZipMiddleware alone compressed ``main.dart.wasm`` (8.5 MB, about 0.6 s of CPU) and the renderer
    and fonts again for every new browser, which made a compressed first load slower than an
    uncompressed one on loopback (docs/PERFORMANCE.md). Here:
    1. A GET or HEAD that accepts gzip, for a file with a compressible suffix of at least
       ``PRECOMPRESS_MIN_BYTES`` found where Flet's static handler looks (the app's assets, then
       the flet_web package; the same path under ``/admin/``), is answered from memory.
    2. The first request for a file compresses it in a worker thread (one at a time per file); a
       file that changed on disk (mtime or size) is compressed again.
    3. Responses carry ``Content-Encoding: gzip``, so GZipMiddleware passes them through; the small
       and per-app files (index.html, manifests) still go through it.
    Everything else (other methods, no gzip, unknown paths) goes on to the app untouched.
    """

    def __init__(self, app: ASGIApp, *, roots: Sequence[Path]):
        self.app = app
        self.roots = [r.resolve() for r in roots]
        self._cache: dict[Path, _Compressed] = {}
        self._locks: dict[Path, asyncio.Lock] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or not _accepts_gzip(scope):
            await self.app(scope, receive, send)
            return
        path = self._file(scope["path"])
        entry = await self._compressed(path) if path is not None else None
        if entry is None:
            await self.app(scope, receive, send)
            return
        if _header(scope, b"if-none-match") == entry.etag:
            await send({"type": "http.response.start", "status": 304, "headers": entry.headers[-2:]})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": entry.headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else entry.body})

    def _file(self, url_path: str) -> Path | None:
        for mount in MOUNTS:
            if url_path.startswith(mount):
                url_path = url_path[len(mount) - 1 :]
        rel = url_path.lstrip("/")
        if not rel or rel in FLET_PATCHED or Path(rel).suffix.lower() not in COMPRESSIBLE:
            return None
        for root in self.roots:
            candidate = (root / rel).resolve()
            if candidate.is_relative_to(root) and candidate.is_file():
                return candidate if candidate.stat().st_size >= PRECOMPRESS_MIN_BYTES else None
        return None

    async def _compressed(self, path: Path) -> _Compressed | None:
        try:
            st = path.stat()
        except OSError:
            return None
        stamp = (st.st_mtime_ns, st.st_size)
        entry = self._cache.get(path)
        if entry is not None and entry.stamp == stamp:
            return entry
        async with self._locks.setdefault(path, asyncio.Lock()):
            entry = self._cache.get(path)
            if entry is None or entry.stamp != stamp:
                entry = await asyncio.to_thread(_compress, path, stamp)
                self._cache[path] = entry
        return entry


def _compress(path: Path, stamp: tuple[int, int]) -> _Compressed:
    body = gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
    etag = f'"gz-{stamp[0]:x}-{stamp[1]:x}"'
    ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    headers = [
        (b"content-type", ctype.encode()),
        (b"content-encoding", b"gzip"),
        (b"content-length", str(len(body)).encode()),
        (b"last-modified", formatdate(stamp[0] / 1e9, usegmt=True).encode()),
        # What Flet's own app adds to every response (its CustomHeadersMiddleware): the renderer
        # needs cross-origin isolation for its threads.
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"cross-origin-embedder-policy", b"require-corp"),
        (b"access-control-allow-origin", b"*"),
        (b"vary", b"Accept-Encoding"),
        (b"etag", etag.encode()),
    ]
    return _Compressed(body, stamp, etag, headers)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


def _accepts_gzip(scope: Scope) -> bool:
    for part in _header(scope, b"accept-encoding").lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() in ("gzip", "*"):
            q = params.strip().removeprefix("q=")
            return not (params.strip().startswith("q=") and _zero(q))
    return False


def _zero(q: str) -> bool:
    try:
        return float(q) == 0
    except ValueError:
        return False
