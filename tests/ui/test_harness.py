"""Proves tests/ui/harness.py against small toy Flet 1.0 apps."""

import asyncio
import sys
import threading
import time
from pathlib import Path

import flet as ft
import pytest
from flet.messaging.protocol import MessageAction

sys.path.insert(0, str(Path(__file__).resolve().parent))  # no __init__.py here
from harness import FletAppError, FletHarness  # noqa: E402


def sent_patch_values(h: FletHarness) -> list:
    """Every scalar that went over the (fake) wire in PATCH_CONTROL messages."""
    out: list = []

    def walk(x):
        if isinstance(x, dict):
            list(map(walk, x.values()))
        elif isinstance(x, list):
            list(map(walk, x))
        else:
            out.append(x)

    for action, body in h.messages:
        if action == MessageAction.PATCH_CONTROL:
            walk(body["patch"])
    return out


# ----------------------------------------------------------------- toy apps
def counter_app(page: ft.Page):
    count = ft.Text("0", key="count")

    def add(e):  # no explicit update(): Flet 1.0 auto-updates after handlers
        count.value = str(int(count.value) + 1)

    page.add(count, ft.Button("Add", key=ft.ValueKey("add"), on_click=add))


def echo_app(page: ft.Page):
    name = ft.TextField(label="Name", key="name")
    echo = ft.Text("", key="echo")
    changes: list = []
    page.session.store.set("changes", changes)

    def send(e):
        echo.value = f"Hello, {name.value}!"
        echo.update()

    name.on_change = lambda e: changes.append(e.data)
    name.on_submit = send
    page.add(name, echo, ft.Button("Send", key="send", on_click=send))


def nav_app(page: ft.Page):
    async def back(e):
        await page.push_route("/")

    def route_change(e=None):
        page.views.clear()
        go = ft.Button("Settings", key="go", on_click=lambda: page.navigate("/settings"))
        page.views.append(ft.View(route="/", controls=[ft.Text("Home page"), go]))
        if page.route == "/settings":
            page.views.append(
                ft.View(
                    route="/settings",
                    controls=[ft.Text("Settings page"), ft.Button("Back", key="back", on_click=back)],
                )
            )
        page.update()

    page.on_route_change = route_change
    route_change()


async def prefs_app(page: ft.Page):
    prefs = ft.SharedPreferences()
    saved = await prefs.get("username")
    greeting = ft.Text(f"Hi {saved}" if saved else "Who are you?", key="greeting")
    name = ft.TextField(key="name")

    async def save(e):
        ok = await prefs.set("username", name.value)
        greeting.value = f"Saved {name.value}" if ok else "failed"

    async def forget(e):
        await prefs.remove("username")
        greeting.value = "Forgotten" if not await prefs.contains_key("username") else "?"

    page.add(
        greeting,
        name,
        ft.Button("Save", key="save", on_click=save),
        ft.Button("Forget", key="forget", on_click=forget),
    )


def thread_app(page: ft.Page):
    status = ft.Text("idle", key="status")
    page.session.store.set("threads", threads := [])

    def blocking(n):
        threads.append(threading.current_thread().name)
        time.sleep(0.05)
        return n * 2

    async def compute(e):
        status.value = "working"
        status.update()
        status.value = f"result={await asyncio.to_thread(blocking, 21)}"
        status.update()

    def compute_in_background(e):  # fire-and-forget: the test must wait for it
        page.run_thread(lambda: setattr(status, "value", f"bg={blocking(5)}") or status.update())

    page.add(
        status,
        ft.Button("Compute", key="compute", on_click=compute),
        ft.Button("Background", key="bg", on_click=compute_in_background),
    )


def countdown_app(page: ft.Page):
    left = ft.Text("3", key="left")

    async def run():
        for n in (2, 1):
            await asyncio.sleep(1)
            left.value = str(n)
            left.update()
        await asyncio.sleep(1)
        left.value = "Lift-off"
        left.update()

    page.add(left, ft.Button("Start", key="start", on_click=lambda: page.run_task(run)))


# ------------------------------------------------------------------- tests
@pytest.mark.asyncio
async def test_counter_click_updates_text_and_sends_patch():
    async with FletHarness(counter_app) as h:
        assert h.find("count").value == "0"
        assert h.texts() == ["0", "Add"]
        await h.click("add")  # str finds a ValueKey("add") and vice versa
        await h.click(ft.ValueKey("add"))
        assert h.find("count").value == "2"
        assert h.has_text("2")
        # the change really went over the wire (encoder snapshots work)
        assert "2" in sent_patch_values(h)


@pytest.mark.asyncio
async def test_textfield_fill_click_and_submit_echo():
    async with FletHarness(echo_app) as h:
        await h.fill("name", "Ada")
        assert h.find("name").value == "Ada"
        assert h.session.store.get("changes") == ["Ada"]  # on_change got e.data
        await h.click("send")
        assert h.find("echo").value == "Hello, Ada!"
        await h.fill("name", "Grace")
        await h.submit("name")
        assert h.has_text("Hello, Grace!")
        # the client-applied value is not echoed back as a patch
        assert "Grace" not in sent_patch_values(h)


@pytest.mark.asyncio
async def test_navigation_between_routes():
    async with FletHarness(nav_app) as h:
        assert h.has_text("Home page") and not h.has_text("Settings page")
        await h.click("go")  # page.navigate -> push_route -> client route_change
        assert h.session.page.route == "/settings"
        assert [v.route for v in h.session.page.views] == ["/", "/settings"]
        assert h.has_text("Settings page") and not h.has_text("Home page")  # top view
        assert ("Page", "push_route", {"route": "/settings"}) in h.invocations
        await h.click("back")  # awaited push_route
        assert h.has_text("Home page") and not h.exists("back")
        await h.route("/settings")  # browser address bar / forward button
        assert h.has_text("Settings page")


@pytest.mark.asyncio
async def test_deep_link_route_at_start():
    async with FletHarness(nav_app, route="/settings", width=390, height=844) as h:
        assert h.session.page.route == "/settings"
        assert h.session.page.width == 390 and h.session.page.web
        assert h.session.page.platform == ft.PagePlatform.ANDROID
        assert h.has_text("Settings page")


@pytest.mark.asyncio
async def test_shared_preferences_persist_across_sessions():
    storage: dict = {}
    async with FletHarness(prefs_app, local_storage=storage) as h:
        assert h.has_text("Who are you?")
        await h.fill("name", "Alice")
        await h.click("save")
        assert h.find("greeting").value == "Saved Alice"
        assert storage == {"username": "Alice"}
    async with FletHarness(prefs_app, local_storage=storage) as h2:  # "reload"
        assert h2.find("greeting").value == "Hi Alice"
        await h2.click("forget")
        assert h2.has_text("Forgotten") and storage == {}
    async with FletHarness(prefs_app, local_storage={"username": "Bob"}) as h3:
        assert h3.has_text("Hi Bob")
        assert [m for _, m, _ in h3.invocations] == ["get"]


@pytest.mark.asyncio
async def test_async_handler_with_to_thread_and_run_thread():
    async with FletHarness(thread_app) as h:
        await h.click("compute")  # click() awaits the whole async handler
        assert h.find("status").value == "result=42"
        assert threading.main_thread().name not in h.session.store.get("threads")
        await h.click("bg")
        await h.wait_for(lambda: h.has_text("bg=10"))


@pytest.mark.asyncio
async def test_fake_clock_advances_asyncio_sleep_countdown():
    started = time.monotonic()
    async with FletHarness(countdown_app, fake_sleep=True) as h:
        await h.click("start")
        assert h.find("left").value == "3"
        await h.advance(1)
        assert h.find("left").value == "2"
        await h.advance(0.5)
        assert h.find("left").value == "2"
        await h.advance(5)
        assert h.has_text("Lift-off")
    assert asyncio.sleep.__module__ == "asyncio.tasks"  # restored on close
    assert time.monotonic() - started < 2


@pytest.mark.asyncio
async def test_custom_invoke_handler_dialog_and_errors():
    def app(page: ft.Page):
        async def copy(e):
            await ft.Clipboard().set("secret")
            pasted = await ft.Clipboard().get()
            page.show_dialog(ft.AlertDialog(title=ft.Text(f"Copied {pasted}"), key="dlg"))

        def boom(e):
            raise ValueError("kaputt")

        page.add(
            ft.Button("Copy", key="copy", on_click=copy),
            ft.Button("Boom", key="boom", on_click=boom),
            ft.Button("Off", key="off", disabled=True, on_click=boom),
        )

    async with FletHarness(app) as h:
        clip: dict = {}
        h.on_invoke(ft.Clipboard, "set", lambda a: clip.update(text=a["data"]))

        @h.on_invoke("Clipboard", "get")
        async def _get(args):
            return clip.get("text")

        await h.click("copy")
        assert clip == {"text": "secret"}
        assert h.has_text("Copied secret") and h.find("dlg").open
        with pytest.raises(FletAppError, match="kaputt"):
            await h.click("boom")
        with pytest.raises(AssertionError, match="disabled"):
            await h.click("off")
        with pytest.raises(LookupError, match="copy"):
            h.find("nope")


@pytest.mark.asyncio
async def test_locale_via_device_info_and_main_errors():
    async def app(page: ft.Page):
        info = await page.get_device_info()
        loc = info.locales[0]
        page.add(ft.Text(f"{loc.language_code}_{loc.country_code}", key="loc"))

    async with FletHarness(app, locale="de-AT") as h:
        assert h.find("loc").value == "de_AT"

    def broken(page: ft.Page):
        raise RuntimeError("no database")

    with pytest.raises(FletAppError, match="no database"):
        await FletHarness.start(broken, fake_sleep=True)
    assert asyncio.sleep.__module__ == "asyncio.tasks"  # start() cleaned up after itself
