"""Refuse websockets opened from another site.

Flet's /ws endpoints accept any Origin, so a page elsewhere could open a session in a signed-in
supervisor's browser. Browsers always send Origin on websocket handshakes; we accept it only when it
names this server (the Host the browser asked for) or the configured public URL.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send


class OriginCheck:
    def __init__(self, app: ASGIApp, *, public_url: str = ""):
        self.app = app
        self.public_host = urlsplit(public_url).netloc.lower() if public_url else ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not self._allowed(scope):
            await send({"type": "websocket.close", "code": 1008})  # policy violation
            return
        await self.app(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        origin = headers.get("origin")
        if origin is None:
            return True  # not a browser (a browser always sends Origin on a websocket)
        origin_host = urlsplit(origin).netloc.lower()
        return origin_host in {headers.get("host", "").lower(), self.public_host} - {""}
