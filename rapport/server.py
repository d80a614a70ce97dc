"""The one ASGI app: HTTP API, health check, the admin Flet app at /admin and the kiosk at /."""

from __future__ import annotations

import flet.fastapi as flet_fastapi
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import text
from starlette.middleware.gzip import GZipMiddleware

from admin.app import build_admin_main
from kiosk.app import build_kiosk_main
from rapport.api import build_router
from rapport.context import ASSETS_DIR, AppContext
from rapport.origin import OriginCheck
from rapport.scheduler import start_scheduler

# A customer's session is short; a disconnected one should not linger for Flet's default hour.
KIOSK_SESSION_TIMEOUT_S = 300
ADMIN_SESSION_TIMEOUT_S = 900


def create_app(ctx: AppContext, *, scheduler: bool = True) -> flet_fastapi.FastAPI:
    jobs: list[AsyncIOScheduler] = []

    async def start_jobs() -> None:
        if scheduler:
            jobs.append(start_scheduler(ctx))

    async def stop_jobs() -> None:
        for s in jobs:
            s.shutdown(wait=False)

    app = flet_fastapi.FastAPI(
        title="Rapport", docs_url=None, redoc_url=None, openapi_url="/api/v1/openapi.json",
        on_startup=[start_jobs], on_shutdown=[stop_jobs],
    )  # fmt: skip
    app.include_router(build_router(ctx), prefix="/api/v1")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        try:
            with ctx.db.read() as session:
                session.execute(text("SELECT 1"))
        except Exception:
            return JSONResponse({"status": "database unreachable"}, status_code=503)
        return JSONResponse({"status": "ready"})

    @app.get("/admin", include_in_schema=False)
    async def admin_slash(request: Request) -> Response:
        # Without the slash the kiosk app (mounted at /) would answer and treat it as its own route.
        return RedirectResponse("/admin/", status_code=308)

    common = {"no_cdn": True, "assets_dir": str(ASSETS_DIR)}
    app.mount(
        "/admin",
        flet_fastapi.app(
            build_admin_main(ctx),
            app_name="Rapport Admin",
            session_timeout_seconds=ADMIN_SESSION_TIMEOUT_S,
            **common,
        ),
    )
    app.mount(
        "/",
        flet_fastapi.app(
            build_kiosk_main(ctx),
            app_name="Rapport",
            session_timeout_seconds=KIOSK_SESSION_TIMEOUT_S,
            **common,
        ),
    )
    # Flet's own server does not compress; main.dart.wasm alone is several MB.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    app.add_middleware(OriginCheck, public_url=ctx.settings.public_url)
    return app
