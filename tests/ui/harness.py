"""In-process UI test harness for Flet 1.0 apps (no Flutter client needed).

`flet.testing` needs a Flutter toolchain, so instead we play the client's role over
a fake `Connection`: a real `flet.messaging.session.Session` drives the app exactly
as in production, and this module answers what the Dart client would answer.

    async with FletHarness(main, route="/login") as h:    # or: await FletHarness.start(...)
        await h.fill("email", "a@b.c")
        await h.click("submit")
        assert h.has_text("Welcome")

Why each piece exists (all verified against flet 1.0.5 sources):
* Every outbound message is msgpack-encoded like flet_web's FletApp.send_message.
  Encoding is NOT side-effect free: it records the `__prev_*` snapshots that later
  diffs compare against; skip it and `control.update()` silently sends nothing.
* Service calls (`ft.SharedPreferences().get`, `page.push_route`, ...) go through
  `Session.invoke_method`, which sends INVOKE_METHOD and waits on an asyncio.Event
  until `handle_invoke_method_results` is called. We answer from a task so calls
  finish immediately instead of hanging (unhandled methods return None).
* Client-side property changes (typing, route) arrive as UPDATE_CONTROL_PROPS, which
  the server applies with `session.apply_patch` (bypasses dirty tracking), followed
  by a CONTROL_EVENT. `fill()` and `route()` replay that exact sequence.

Timers: `await asyncio.sleep(n)` countdowns would make tests slow. Recommended:
apps take an injectable `sleep` (pass `h.clock.sleep`), or start the harness with
`fake_sleep=True`, which swaps `asyncio.sleep` for the harness clock until close()
(sleep(0) still yields for real). Virtual time only moves in `await h.advance(s)`.
Note `from asyncio import sleep` at app import time escapes the patch.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import heapq
import inspect
import itertools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator, Optional

import msgpack
from flet.controls.base_control import BaseControl
from flet.controls.context import _context_page, context
from flet.controls.keys import Key
from flet.messaging.connection import Connection
from flet.messaging.protocol import (
    Message,
    MessageAction,
    RegisterClientResponseBody,
    configure_encode_object_for_msgpack,
    decode_ext_from_msgpack,
)
from flet.messaging.session import Session
from flet.pubsub.pubsub_hub import PubSubHub

_real_sleep = asyncio.sleep  # captured before any patching; used internally


class FletAppError(AssertionError):
    """The app crashed (a SESSION_CRASHED message: handler exception, main() error)."""


class FakeClock:
    """Virtual-time replacement for `asyncio.sleep`; time moves only in advance()."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list = []  # heap of (deadline, seq, future)
        self._seq = itertools.count()

    async def sleep(self, delay: float, result: Any = None) -> Any:
        if delay <= 0:
            return await _real_sleep(0, result)
        fut = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + delay, next(self._seq), fut))
        await fut
        return result

    async def advance(self, seconds: float, settle: Callable | None = None) -> None:
        """Wake sleepers in deadline order; let each run before the next wakes."""
        target = self.now + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, fut = heapq.heappop(self._sleepers)
            self.now = deadline
            if not fut.done():
                fut.set_result(None)
            await (settle() if settle else _real_sleep(0))
        self.now = target


class _FakeClientConnection(Connection):
    """Connection whose 'wire' is an in-process fake Dart client (the harness)."""

    def __init__(self, harness: FletHarness) -> None:
        super().__init__()
        self.loop = asyncio.get_running_loop()
        self.executor = ThreadPoolExecutor(thread_name_prefix="flet_harness")
        self.pubsubhub = PubSubHub(loop=self.loop, executor=self.executor)
        self.page_url = "http://localhost:8550"
        self._encode = configure_encode_object_for_msgpack(BaseControl)
        self._harness = harness

    def send_message(self, message: Message) -> None:
        raw = msgpack.packb([message.action, message.body], default=self._encode)
        action, body = msgpack.unpackb(
            raw, ext_hook=decode_ext_from_msgpack, strict_map_key=False
        )
        self._harness._on_client_message(MessageAction(action), body)

    def get_upload_url(self, file_name: str, expires: int) -> str:
        return f"{self.page_url}/upload/{file_name}"


def _key_value(k: Any) -> Any:
    return k.value if isinstance(k, Key) else k


class FletHarness:
    def __init__(
        self,
        main: Callable,
        *,
        route: str = "/",
        width: float = 1280,
        height: float = 800,
        platform: str = "android",
        web: bool = True,
        locale: str = "en-US",
        user_agent: str = "Mozilla/5.0 (Linux; Android 14) FletHarness",
        local_storage: Optional[dict] = None,
        fake_sleep: bool = False,
        raise_errors: bool = True,
    ) -> None:
        self.main, self.locale, self.raise_errors = main, locale, raise_errors
        self._reg = dict(route=route, width=width, height=height, platform=platform,
                         web=web, user_agent=user_agent)  # fmt: skip
        # Pass the same dict to several harnesses to emulate a persistent browser.
        self.local_storage: dict = {} if local_storage is None else local_storage
        self.messages: list[tuple[MessageAction, Any]] = []  # decoded, for debugging
        self.invocations: list[tuple[str, str, Any]] = []  # (control type, method, args)
        self.errors: list[str] = []
        self._errors_seen = 0
        self._handlers: list[tuple[Any, str, Callable]] = []
        self._tasks: set[asyncio.Task] = set()
        self.clock = FakeClock()
        self._fake_sleep = fake_sleep
        self._sleep_patch: Optional[contextlib.ExitStack] = None
        self.session: Session = None  # type: ignore[assignment]
        self._install_default_handlers()

    # ---------------------------------------------------------------- lifecycle
    @classmethod
    async def start(cls, main: Callable, **kwargs: Any) -> FletHarness:
        return await cls(main, **kwargs)._start()

    async def __aenter__(self) -> FletHarness:
        return await self._start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def _start(self) -> FletHarness:
        if self._fake_sleep:
            self._sleep_patch = contextlib.ExitStack()
            self._sleep_patch.enter_context(self.patch_sleep())
        self.conn = _FakeClientConnection(self)
        self.session = Session(self.conn)
        page = self.session.page
        _context_page.set(page)
        r = self._reg
        # Same fields the Dart client puts in its RegisterClientRequest page map.
        self.session.apply_page_patch({
            "route": r["route"], "web": r["web"], "platform": r["platform"],
            "pwa": False, "debug": False, "wasm": False, "multi_view": False,
            "platform_brightness": "light", "width": r["width"], "height": r["height"],
            "window": {"width": r["width"], "height": r["height"]},
        })  # fmt: skip
        page.client_ip, page.client_user_agent = "127.0.0.1", r["user_agent"]
        # The register response carries the full page; sending it (=encoding it)
        # mounts/indexes every control and records the diff snapshots.
        self.conn.send_message(Message(MessageAction.REGISTER_CLIENT,
            RegisterClientResponseBody(self.session.id, self.session.get_page_patch(), "")))  # fmt: skip
        await self._run_main()
        await self.settle()
        self._check_errors()
        return self

    async def _run_main(self) -> None:
        # Mirrors flet_web FletApp.__on_session_created (all main() flavours).
        s, page = self.session, self.session.page
        context.reset_auto_update()
        try:
            if inspect.isasyncgenfunction(self.main):
                async for _ in self.main(page):
                    await s.after_event(page)
            elif inspect.isgeneratorfunction(self.main):
                for _ in self.main(page):
                    await s.after_event(page)
            else:
                res = self.main(page)
                if inspect.isawaitable(res):
                    await res
            await s.after_event(page)
        except Exception as e:
            import traceback

            s.error(f"{e}\n{traceback.format_exc()}")

    async def close(self) -> None:
        if self.session is not None and self.session.connection is not None:
            await self.session.disconnect(0)  # fires page.on_disconnect
            self.session.close()  # cancels scheduler & pending invoke calls, on_close
            await self.settle()
            for t in list(self._tasks):
                t.cancel()
            self.conn.executor.shutdown(wait=False, cancel_futures=True)
        if self._sleep_patch:
            self._sleep_patch.close()
            self._sleep_patch = None

    # ------------------------------------------------------- the fake client
    def _on_client_message(self, action: MessageAction, body: Any) -> None:
        self.messages.append((action, body))
        if action == MessageAction.SESSION_CRASHED:
            self.errors.append(body["message"])
        elif action == MessageAction.INVOKE_METHOD:
            # Called synchronously from inside invoke_method(), before it awaits:
            # answer from a task, like a real round-trip.
            self._spawn(self._answer_invoke(body))

    def _spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _answer_invoke(self, body: dict) -> None:
        cid, name, args = body["control_id"], body["name"], body["args"] or {}
        control = self.session.index.get(cid)
        ctype = control._c if control is not None else "?"
        self.invocations.append((ctype, name, args))
        result, error = None, None
        for target, method, fn in reversed(self._handlers):  # latest wins
            hit = target == ctype or (isinstance(target, type) and isinstance(control, target))
            if method == name and hit:
                try:
                    result = fn(args)
                    if inspect.isawaitable(result):
                        result = await result
                except Exception as e:  # the client reports errors as strings
                    error = str(e)
                break
        with contextlib.suppress(RuntimeError):  # control unmounted meanwhile
            self.session.handle_invoke_method_results(cid, body["call_id"], result, error)

    def on_invoke(self, target: Any, method: str, handler: Optional[Callable] = None):
        """Answer `method` on controls of type `target` (Dart name like "Clipboard"
        or a class like ft.Clipboard). handler(args: dict) -> result, sync or async;
        raising makes the app's await raise RuntimeError. Usable as a decorator."""
        if handler is None:
            return lambda fn: self.on_invoke(target, method, fn) or fn
        self._handlers.append((target, method, handler))

    def _install_default_handlers(self) -> None:
        ls = self.local_storage  # flutter shared_preferences, in memory
        sp = "SharedPreferences"
        self.on_invoke(sp, "get", lambda a: ls.get(a["key"]))
        self.on_invoke(sp, "set", lambda a: ls.__setitem__(a["key"], a["value"]) or True)
        self.on_invoke(sp, "contains_key", lambda a: a["key"] in ls)
        self.on_invoke(sp, "remove", lambda a: [ls.pop(a["key"], None), True][1])
        self.on_invoke(sp, "get_keys", lambda a: [k for k in ls if k.startswith(a.get("key_prefix") or "")])
        self.on_invoke(sp, "clear", lambda a: ls.clear() or True)
        # The Dart page handles push_route by changing its router state, which
        # sends the route prop + a route_change event (FletBackend._sendRouteChangeEvent).
        self.on_invoke("Page", "push_route", lambda a: self._client_route_change(a["route"]) and None)
        lang, _, country = self.locale.partition("-")
        self.on_invoke("Page", "get_device_info", lambda a: {
            "browser_name": "chrome", "user_agent": self._reg["user_agent"],
            "language": self.locale, "languages": [self.locale],
            "locales": [{"language_code": lang, "country_code": country or None}]})  # fmt: skip

    def _client_route_change(self, path: str) -> asyncio.Task:
        page = self.session.page
        self.session.apply_patch(page._i, {"route": path})
        return self._spawn(self.session.dispatch_event(page._i, "route_change", {"route": path}))

    # ------------------------------------------------------------- querying
    def _walk(self, value: Any, seen: set, visible_only: bool) -> Iterator[BaseControl]:
        if id(value) in seen or value is None or isinstance(value, (str, bytes, int, float)):
            return
        seen.add(id(value))
        if isinstance(value, BaseControl):
            if visible_only and getattr(value, "visible", True) is False:
                return
            yield value
        if dataclasses.is_dataclass(value):
            for f in dataclasses.fields(value):
                # page.views is walked by controls() itself, top view first
                if f.metadata.get("skip") or f.name == "_parent" or (
                    f.name == "views" and value is self.session.page
                ):
                    continue
                yield from self._walk(getattr(value, f.name, None), seen, visible_only)
        elif isinstance(value, (list, tuple)):
            for item in value:
                yield from self._walk(item, seen, visible_only)
        elif isinstance(value, dict):
            for item in value.values():
                yield from self._walk(item, seen, visible_only)

    def controls(self, visible_only: bool = False) -> list[BaseControl]:
        """Live tree: dialogs/overlay and the top view first, then lower views."""
        page, seen = self.session.page, set()
        out = list(self._walk(page._dialogs, seen, visible_only))
        out += self._walk(page._overlay, seen, visible_only)
        views = list(reversed(page.views))
        for v in views[:1] if visible_only else views:  # lower views are covered
            out += self._walk(v, seen, visible_only)
        return out + list(self._walk(page, seen, visible_only))

    def find_all(self, predicate: Callable[[BaseControl], bool]) -> list[BaseControl]:
        return [c for c in self.controls() if predicate(c)]

    def find(self, key: Any) -> BaseControl:
        kv = _key_value(key)
        for c in self.controls():
            if c.key is not None and _key_value(c.key) == kv:
                return c
        keys = sorted({str(_key_value(c.key)) for c in self.controls() if c.key is not None})
        raise LookupError(f"No control with key {kv!r}. Keys in tree: {keys}")

    def exists(self, key: Any) -> bool:
        return any(c.key is not None and _key_value(c.key) == _key_value(key) for c in self.controls())

    def texts(self) -> list[str]:
        """Visible Text values + string `content` (Button("Save")) of the shown UI.
        Closed dialogs (open=False) are skipped."""
        out = []
        for c in self.controls(visible_only=True):
            dialogs = self.session.page._dialogs.controls
            if getattr(c, "open", True) is False and any(c is d for d in dialogs):
                continue
            v = c.value if c._c == "Text" else getattr(c, "content", None)
            if isinstance(v, str) and v:
                out.append(v)
        return out

    def has_text(self, substring: str) -> bool:
        return any(substring in t for t in self.texts())

    # ------------------------------------------------------------- actions
    async def event(self, key: Any, name: str, data: Any = None, *, force: bool = False) -> None:
        """Send CONTROL_EVENT `name` like the client; refuses (unless force) what the
        client would never send: no on_<name> handler, disabled or hidden control."""
        c = key if isinstance(key, BaseControl) else self.find(key)
        if not force:
            if getattr(c, f"on_{name}", None) is None:
                raise AssertionError(f"{c} has no on_{name} handler")
            node: Any = c
            while node is not None:
                if getattr(node, "disabled", False) or getattr(node, "visible", True) is False:
                    raise AssertionError(f"{c} is disabled or hidden (via {node})")
                node = node.parent
        await self.session.dispatch_event(c._i, name, data)
        await self.settle()
        self._check_errors()

    async def click(self, key: Any) -> None:
        await self.event(key, "click")

    async def fill(self, key: Any, value: Any) -> None:
        """Type into a TextField (or set a Checkbox/Switch/...): the client first
        sends UPDATE_CONTROL_PROPS {"value": v}, then "change" with v as data."""
        c = self.find(key)
        self.session.apply_patch(c._i, {"value": value})
        if getattr(c, "on_change", None) is not None:
            await self.event(c, "change", value)

    async def submit(self, key: Any) -> None:
        c = self.find(key)  # TextField.onFieldSubmitted -> "submit" with the text
        await self.event(c, "submit", getattr(c, "value", None))

    async def route(self, path: str) -> None:
        """Simulate the browser URL changing (address bar, back/forward)."""
        await self._client_route_change(path)
        await self.settle()
        self._check_errors()

    async def settle(self, rounds: int = 20) -> None:
        """Let queued callbacks, scheduler updates and fake-client replies run."""
        for _ in range(rounds):
            await _real_sleep(0)
            pending = [t for t in self._tasks if not t.done()]
            if pending:
                await asyncio.wait(pending, timeout=0.05)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 2.0) -> None:
        """Poll in real time, for work done in threads (run_thread, to_thread)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            self._check_errors()
            if loop.time() > deadline:
                raise TimeoutError(f"condition not met in {timeout}s; texts={self.texts()}")
            await _real_sleep(0.01)
        await self.settle()

    async def advance(self, seconds: float) -> None:
        """Move the fake clock (see module docstring) and let woken code run."""
        await self.clock.advance(seconds, self.settle)
        self._check_errors()

    @contextlib.contextmanager
    def patch_sleep(self) -> Iterator[FakeClock]:
        original, asyncio.sleep = asyncio.sleep, self.clock.sleep
        try:
            yield self.clock
        finally:
            asyncio.sleep = original

    def _check_errors(self) -> None:
        new, self._errors_seen = self.errors[self._errors_seen:], len(self.errors)
        if new and self.raise_errors:
            raise FletAppError("App error(s):\n" + "\n---\n".join(new))
