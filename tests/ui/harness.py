"""In-process UI test harness for Flet 1.0 apps: no Flutter client or browser needed.

A real `flet.messaging.session.Session` runs the app; this module plays the Dart client.

    async with FletHarness(main, route="/login") as h:  # or: h = await FletHarness.start(main)
        await h.fill("email", "a@b.c")
        await h.click("submit")
        assert h.has_text("Welcome")

Why it is built this way (checked against the flet 1.0.5 / flet-web sources):
* Outbound messages are msgpack-encoded like flet_web's FletApp.send_message. Encoding stores
  the `__prev_*` snapshots the next diff compares against; without it, updates send nothing.
* Services (`ft.SharedPreferences().get`, `page.push_route`, ...) call `Session.invoke_method`,
  which waits on an asyncio.Event that only `handle_invoke_method_results` sets. We reply from
  a task, so calls finish at once instead of hanging. Methods without a handler return None.
* Client-side changes (typing, the URL) arrive as UPDATE_CONTROL_PROPS, applied with
  `session.apply_patch` (no dirty marking, so nothing is echoed back), then a CONTROL_EVENT.
  `fill()` and `route()` send the same two messages in that order.

Timers: for `await asyncio.sleep(n)` countdowns, either let the app take an injectable `sleep`
(pass `h.clock.sleep`) or use `fake_sleep=True`, which swaps `asyncio.sleep` for the virtual
clock until close(). Virtual time only moves on `await h.advance(seconds)`; `sleep(0)` still
yields for real. An app that did `from asyncio import sleep` keeps the real one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import heapq
import inspect
import itertools
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

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

_real_sleep = asyncio.sleep  # saved before any patching; the harness itself always uses it


class FletAppError(AssertionError):
    """The app reported a crash (an exception in main() or in an event handler)."""


class FakeClock:
    """A virtual-time `asyncio.sleep`. Time only moves in advance()."""

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
        """Wake sleepers in deadline order, letting each run before the next one wakes."""
        target = self.now + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            self.now, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)
            await (settle() if settle else _real_sleep(0))
        self.now = target


class _FakeClientConnection(Connection):
    """A Connection whose other end is the harness, standing in for the Dart client."""

    def __init__(self, harness: FletHarness) -> None:
        super().__init__()
        self.loop = asyncio.get_running_loop()  # used by page.run_task / run_thread
        self.executor = ThreadPoolExecutor(thread_name_prefix="flet_harness")
        self.pubsubhub = PubSubHub(loop=self.loop, executor=self.executor)
        self.page_url = "http://localhost:8550"
        self._encode = configure_encode_object_for_msgpack(BaseControl)
        self._harness = harness

    def send_message(self, message: Message) -> None:
        raw = msgpack.packb([message.action, message.body], default=self._encode)
        action, body = msgpack.unpackb(raw, ext_hook=decode_ext_from_msgpack, strict_map_key=False)
        self._harness._on_client_message(MessageAction(action), body)


def _kv(k: Any) -> Any:  # key="x" and key=ft.ValueKey("x") are the same key to a test
    return k.value if isinstance(k, Key) else k


class FletHarness:
    def __init__(self, main: Callable, *, route: str = "/", width: float = 1280, height: float = 800,
                 platform: str = "android", web: bool = True, locale: str = "en-US",
                 user_agent: str = "Mozilla/5.0 (Linux; Android 14) FletHarness",
                 local_storage: dict | None = None, fake_sleep: bool = False,
                 raise_errors: bool = True) -> None:  # fmt: skip
        self.main, self.locale, self.raise_errors, self.user_agent = main, locale, raise_errors, user_agent
        # What the Dart client reports on registration (FletBackend._registerClient).
        self.client_page = {"route": route, "web": web, "platform": platform, "pwa": False,
                            "debug": False, "wasm": False, "multi_view": False,
                            "platform_brightness": "light", "width": width, "height": height,
                            "window": {"width": width, "height": height}}  # fmt: skip
        # Share one dict between harnesses to emulate the same browser coming back.
        self.local_storage: dict = {} if local_storage is None else local_storage
        self.messages: list[tuple[MessageAction, Any]] = []  # everything the app sent, decoded
        self.invocations: list[tuple[str, str, dict]] = []  # (control type, method, args)
        self.errors: list[str] = []  # SESSION_CRASHED texts
        self.clock = FakeClock()
        self.session: Session = None  # type: ignore[assignment]
        self._errors_seen, self._handlers, self._tasks = 0, [], set()
        self._fake_sleep, self._sleep_patch = fake_sleep, contextlib.ExitStack()
        self._install_default_handlers()

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    async def start(cls, main: Callable, **kwargs: Any) -> FletHarness:
        return await cls(main, **kwargs)._start()

    async def __aenter__(self) -> FletHarness:
        return await self._start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def _start(self) -> FletHarness:
        if self._fake_sleep:
            self._sleep_patch.enter_context(self.patch_sleep())
        self.conn = _FakeClientConnection(self)
        self.session = s = Session(self.conn)
        _context_page.set(s.page)
        s.apply_page_patch(self.client_page)
        s.page.client_ip, s.page.client_user_agent = "127.0.0.1", self.user_agent
        # The register response carries the whole page. Sending it (and so encoding it)
        # indexes and mounts every control and stores the first diff snapshots.
        page_patch = s.get_page_patch()
        self.conn.send_message(
            Message(MessageAction.REGISTER_CLIENT, RegisterClientResponseBody(s.id, page_patch, ""))
        )
        context.reset_auto_update()  # then run main() as FletApp.__on_session_created does
        try:
            if inspect.isasyncgenfunction(self.main):
                async for _ in self.main(s.page):
                    await s.after_event(s.page)
            elif inspect.isgeneratorfunction(self.main):
                for _ in self.main(s.page):
                    await s.after_event(s.page)
            elif inspect.isawaitable(res := self.main(s.page)):
                await res
            await s.after_event(s.page)
        except Exception as e:
            s.error(f"{e}\n{traceback.format_exc()}")
        await self.settle()
        try:
            self._check_errors()
        except FletAppError:
            await self.close()  # __aexit__ won't run when __aenter__ raises; restore asyncio.sleep
            raise
        return self

    async def close(self) -> None:
        if self.session is not None and self.session.connection is not None:
            await self.session.disconnect(0)  # page.on_disconnect, as when a tab closes
            self.session.close()  # stops the update scheduler, fails pending calls, on_close
            await self.settle()
            for t in list(self._tasks):
                t.cancel()
            self.conn.executor.shutdown(wait=False, cancel_futures=True)
        self._sleep_patch.close()

    # ------------------------------------------------------------ the fake client
    def _on_client_message(self, action: MessageAction, body: Any) -> None:
        self.messages.append((action, body))
        if action == MessageAction.SESSION_CRASHED:
            self.errors.append(body["message"])
        elif action == MessageAction.INVOKE_METHOD:
            # We are inside invoke_method(), which has not started waiting yet: reply later.
            self._spawn(self._answer_invoke(body))

    def _spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _answer_invoke(self, body: dict) -> None:
        # The encoder drops None fields, so "args" is missing for methods called without any.
        cid, call_id, name, args = body["control_id"], body["call_id"], body["name"], body.get("args") or {}
        control = self.session.index.get(cid)
        ctype = control._c if control is not None else "?"
        self.invocations.append((ctype, name, args))  # type name only: strong refs would keep
        result = error = None  # services alive (the registry drops them by refcount)
        for target, method, fn in reversed(self._handlers):  # the latest registration wins
            by_class = isinstance(target, type) and isinstance(control, target)
            if method == name and (target == ctype or by_class):
                try:
                    result = fn(args)
                    if inspect.isawaitable(result):
                        result = await result
                except Exception as e:  # the Dart client reports errors as text
                    error = f"{type(e).__name__}: {e}"
                break
        try:
            self.session.handle_invoke_method_results(cid, call_id, result, error)
        except RuntimeError as e:
            # The control has left the session index. Real Flet would leave the caller waiting
            # forever; fail the call and report it instead (this needs private attributes).
            self.errors.append(f"{name}() on a control that is no longer mounted ({cid}): {e}")
            evt = getattr(self.session, "_Session__method_calls", {}).pop(call_id, None)
            if evt is not None:
                getattr(self.session, "_Session__method_call_results", {})[evt] = (None, str(e))
                evt.set()

    def on_invoke(self, target: Any, method: str, handler: Callable | None = None) -> Any:
        """Answer `method` calls on controls of `target`: a Dart type name ("Clipboard") or a
        class (ft.Clipboard). `handler(args: dict)` may be sync or async; whatever it raises,
        the app's await raises as RuntimeError. Without a handler, returns a decorator."""
        if handler is None:
            return lambda fn: self.on_invoke(target, method, fn) or fn
        self._handlers.append((target, method, handler))

    def _install_default_handlers(self) -> None:
        ls, sp = self.local_storage, "SharedPreferences"  # Flutter shared_preferences, in memory
        self.on_invoke(sp, "get", lambda a: ls.get(a["key"]))
        self.on_invoke(sp, "set", lambda a: ls.__setitem__(a["key"], a["value"]) or True)
        self.on_invoke(sp, "contains_key", lambda a: a["key"] in ls)
        self.on_invoke(sp, "remove", lambda a: [ls.pop(a["key"], None), True][1])
        self.on_invoke(sp, "get_keys", lambda a: [k for k in ls if k.startswith(a.get("key_prefix", ""))])
        self.on_invoke(sp, "clear", lambda a: ls.clear() or True)
        # The Dart page answers push_route by moving its router, which sends the new route and
        # a route_change event before the reply (FletBackend._sendRouteChangeEvent).
        self.on_invoke("Page", "push_route", lambda a: [self._client_route_change(a["route"]), None][1])
        # Flet has no locale in the registration; apps read it from get_device_info().
        lang, _, country = self.locale.partition("-")
        locales = [{"language_code": lang, "country_code": country or None}]
        self.on_invoke("Page", "get_device_info", lambda a: {  # a WebDeviceInfo (page.web)
            "browser_name": "chrome", "user_agent": self.user_agent, "language": self.locale,
            "languages": [self.locale], "locales": locales})  # fmt: skip

    def _client_route_change(self, path: str) -> asyncio.Task:
        page = self.session.page
        self.session.apply_patch(page._i, {"route": path})
        return self._spawn(self.session.dispatch_event(page._i, "route_change", {"route": path}))

    # ------------------------------------------------------------------- querying
    def _walk(self, value: Any, seen: set, visible_only: bool) -> Iterator[BaseControl]:
        if value is None or id(value) in seen or isinstance(value, (str, bytes, int, float)):
            return
        seen.add(id(value))
        if isinstance(value, BaseControl):
            if visible_only and getattr(value, "visible", True) is False:
                return
            yield value
        if dataclasses.is_dataclass(value):
            for f in dataclasses.fields(value):  # same field rules as Session.__find_live_control
                skip = f.metadata.get("skip") or f.name == "_parent"
                if not skip and not (f.name == "views" and value is self.session.page):
                    yield from self._walk(getattr(value, f.name, None), seen, visible_only)
        elif isinstance(value, (list, tuple, dict)):
            for item in value.values() if isinstance(value, dict) else value:
                yield from self._walk(item, seen, visible_only)

    def controls(self, visible_only: bool = False) -> list[BaseControl]:
        """Every control in the tree: dialogs, overlay, views from the top one down, then the
        page itself and its services. `visible_only` skips hidden subtrees and covered views."""
        page, seen = self.session.page, set()
        out = [*self._walk(page._dialogs, seen, visible_only), *self._walk(page._overlay, seen, visible_only)]
        views = list(reversed(page.views))
        for v in views[:1] if visible_only else views:
            out += self._walk(v, seen, visible_only)
        return out + list(self._walk(page, seen, visible_only))

    def find_all(self, predicate: Callable[[BaseControl], bool]) -> list[BaseControl]:
        return [c for c in self.controls() if predicate(c)]

    def find(self, key: Any) -> BaseControl:
        """The first control with this key, searching the top view first. Raises LookupError."""
        for c in self.controls():
            if c.key is not None and _kv(c.key) == _kv(key):
                return c
        keys = sorted({str(_kv(c.key)) for c in self.controls() if c.key is not None})
        raise LookupError(f"no control with key {_kv(key)!r}; keys in the tree: {keys}")

    def exists(self, key: Any) -> bool:
        return any(c.key is not None and _kv(c.key) == _kv(key) for c in self.controls())

    def texts(self) -> list[str]:
        """Text values and string `content` (as in ft.Button("Save")) of what is on screen:
        the top view, overlay and open dialogs, without hidden subtrees."""
        dialogs = self.session.page._dialogs.controls
        out = []
        for c in self.controls(visible_only=True):
            if getattr(c, "open", True) is False and any(c is d for d in dialogs):
                continue
            v = c.value if c._c == "Text" else getattr(c, "content", None)
            if isinstance(v, str) and v:
                out.append(v)
        return out

    def has_text(self, substring: str) -> bool:
        return any(substring in t for t in self.texts())

    # -------------------------------------------------------------------- actions
    async def event(self, key: Any, name: str, data: Any = None, *, force: bool = False) -> None:
        """Send the CONTROL_EVENT `name` as the client would. Unless `force`, refuses what the
        client never sends: no on_<name> handler, or a disabled or hidden control/ancestor."""
        c = key if isinstance(key, BaseControl) else self.find(key)
        if not force:
            if getattr(c, f"on_{name}", None) is None:
                raise AssertionError(f"{c} has no on_{name} handler")
            node: Any = c
            while node is not None:
                if getattr(node, "disabled", False) or getattr(node, "visible", True) is False:
                    raise AssertionError(f"{c} is disabled or hidden (because of {node})")
                node = node.parent
        await self.session.dispatch_event(c._i, name, data)  # returns once the handler is done
        await self.settle()
        self._check_errors()

    async def click(self, key: Any) -> None:
        await self.event(key, "click")

    async def fill(self, key: Any, value: Any) -> None:
        """Type into a TextField (or set a Checkbox, Switch, ...) as the client does: first the
        new "value" property, then a "change" event with the value as data (if there is a handler)."""
        c = self.find(key)
        self.session.apply_patch(c._i, {"value": value})
        if getattr(c, "on_change", None) is not None:
            await self.event(c, "change", value)

    async def submit(self, key: Any) -> None:
        c = self.find(key)  # Enter in a TextField: "submit" with the current text as data
        await self.event(c, "submit", getattr(c, "value", None))

    async def route(self, path: str) -> None:
        """The browser URL changes (typed in the address bar, or back/forward)."""
        await self._client_route_change(path)
        await self.settle()
        self._check_errors()

    @contextlib.contextmanager
    def socket_closing(self) -> Iterator[None]:
        """Within the block every send fails as flet_web 1.0.5's does between a socket closing and
        Flet detaching its session (FletApp.send_message on its cleared queue)."""

        def fail(message: Message) -> None:
            raise AttributeError("'NoneType' object has no attribute 'put_nowait'")

        real, self.conn.send_message = self.conn.send_message, fail  # type: ignore[method-assign]
        try:
            yield
        finally:
            self.conn.send_message = real  # type: ignore[method-assign]

    async def reconnect(self) -> None:
        """The browser's socket closed and came back: Flet keeps a session through a short loss,
        answers the new registration with the whole page (flet_web's FletApp, a known session id)
        and then dispatches the page's "connect" event."""
        if self.session.connection is not None:
            await self.session.disconnect(60)  # page.on_disconnect: the loss is noticed
        body = RegisterClientResponseBody(self.session.id, self.session.page, "")
        self.conn.send_message(Message(MessageAction.REGISTER_CLIENT, body))
        await self.session.connect(self.conn)
        await self.settle()
        self._check_errors()

    async def settle(self, rounds: int = 20) -> None:
        """Let queued callbacks, update-scheduler work and fake-client replies run."""
        for _ in range(rounds):
            await _real_sleep(0)
            if pending := [t for t in self._tasks if not t.done()]:
                await asyncio.wait(pending, timeout=0.05)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 2.0) -> None:
        """Poll in real time. For work in threads the test cannot await (page.run_thread)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            self._check_errors()
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"condition not met within {timeout}s; texts: {self.texts()}")
            await _real_sleep(0.01)
        await self.settle()

    async def advance(self, seconds: float) -> None:
        """Move the virtual clock forward and let the code it wakes run."""
        await self.clock.advance(seconds, self.settle)
        self._check_errors()

    @contextlib.contextmanager
    def patch_sleep(self) -> Iterator[FakeClock]:
        """Replace `asyncio.sleep` with the virtual clock for the duration of the block."""
        original, asyncio.sleep = asyncio.sleep, self.clock.sleep  # type: ignore[assignment]
        try:
            yield self.clock
        finally:
            asyncio.sleep = original  # type: ignore[assignment]

    def _check_errors(self) -> None:
        new, self._errors_seen = self.errors[self._errors_seen :], len(self.errors)
        if new and self.raise_errors:
            raise FletAppError("the app reported errors:\n" + "\n---\n".join(new))
