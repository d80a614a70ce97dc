"""``rapport serve --workers N``: N server processes behind one port.

Why: Flet answers every event of a session on the event loop of the process that accepted its
websocket, and one Python process runs on one core at a time. With 2,000 kiosk sessions on one
process, a tap waits behind other sessions' opens and renders (docs/PERFORMANCE.md); N processes
give N event loops and N interpreters.

How:
1. The supervisor (the ``rapport serve`` process, which has already checked the settings, brought the
   schema up to date and printed the links) makes sure the port is free, then binds N sockets to it
   with ``SO_REUSEPORT``. Each worker listens on its own once its app has started: from then on the
   kernel spreads new connections evenly over the listening ones, and a websocket stays on the
   process that accepted it.
2. It starts each worker as ``python -m rapport.entry.workers`` with its socket inherited: a fresh
   interpreter that builds its own context and app (:func:`rapport.entry.server.create_app` with
   ``workers=N``, which starts the cross-process relays, rapport/core/relay.py) and serves it with
   uvicorn on that socket. A pinned clock (RAPPORT_CLOCK_AT) is handed on as the supervisor's clock
   reads at that moment, so every process reads the same time.
3. Everything that must happen once per deployment is already decided across processes: the
   scheduler's leader (a lock on the data directory's lock file, or PostgreSQL's advisory lock), the
   write order (SQLite's ``BEGIN IMMEDIATE`` and busy timeout), login throttles (database rows).
4. The supervisor keeps the sockets open and restarts a worker that dies (its socket and the
   connections queued on it wait for the replacement). A worker that cannot start (a bad setting,
   an app that fails its start-up) stops them all, with its exit code. SIGTERM or SIGINT to the
   supervisor stops every worker gracefully (each waits up to 15 s for requests in flight), then
   kills any left after that; a worker whose supervisor dies is stopped by the kernel (Linux).

A browser whose websocket reconnects to another worker finds no session there and starts afresh,
exactly as after a server restart: the kiosk loads its counter from the device token in the
browser's storage, the admin app its sign-in from its stored session token.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gc
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rapport.core.settings import Settings

log = logging.getLogger("rapport.workers")

GRACEFUL_SECONDS = 15  # uvicorn's timeout_graceful_shutdown: longer than SQLite's busy timeout (10 s)
STOP_SECONDS = GRACEFUL_SECONDS + 5  # then the supervisor kills what is left
STARTUP_FAILURE = 3  # uvicorn's exit code for "could not start"; 2 is a refused setting
RESTART_PAUSE_SECONDS = 1.0
BACKLOG = 2048
# Python's cyclic garbage collector in a server process (each worker, or `rapport serve` alone). With
# the defaults (700, 10, 10) a worker holding a thousand kiosk sessions ran a full collection every
# dozen seconds or so, each stopping its event loop for 0.1-3.5 s (the heap is every session's
# controls): most of the seconds-long taps. A larger youngest generation lets a render's short-lived
# cycles die young instead of being promoted, and full collections became rare (none in a
# 2,000-session run, against 17 per worker); memory per session stayed under 250 KB
# (docs/PERFORMANCE.md, "Worker processes"). In one process serving 32 API clients on PostgreSQL the
# slowest rating went from 109-157 ms to 49 ms (docs/PERFORMANCE.md, "The collector in one process").
GC_THRESHOLDS = (10_000, 50, 100)


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for one server process (the one process of ``rapport serve``, or a worker)."""
    return {
        "log_level": "info",
        # Our handler and our access log (request ids, redacted paths) instead of uvicorn's.
        "log_config": None,
        "access_log": False,
        # On SIGTERM: stop accepting, then give requests and writes in flight this long to finish.
        # Longer than SQLite's busy timeout (10 s), so a write queued behind another still commits.
        "timeout_graceful_shutdown": GRACEFUL_SECONDS,
        # Behind a reverse proxy, believe its X-Forwarded-For only when it is named (rate limits are
        # per client address; otherwise every customer would share the proxy's).
        "proxy_headers": bool(settings.forwarded_allow_ips),
        "forwarded_allow_ips": settings.forwarded_allow_ips or None,
        "backlog": BACKLOG,
        "ws_per_message_deflate": settings.ws_compression,
    }


class PortInUse(Exception):
    pass


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def open_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` listening sockets on one address, sharing it through ``SO_REUSEPORT``.

    First a plain bind proves nobody listens there yet: without it a second ``rapport serve
    --workers`` of the same user would quietly join this one's group and take half its connections."""
    family = _family(host)
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(f"{host}:{port} is already in use") from None
            raise
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))  # bound, not listening: the worker listens once its app is up
            sock.set_inheritable(True)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class Supervisor:
    """Starts, watches and stops the worker processes (see the module docstring)."""

    def __init__(self, settings: Settings, sockets: list[socket.socket]):
        self.settings = settings
        self.sockets = sockets
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * len(sockets)
        self.stopping = False
        self.exit_code = 0

    def _env(self) -> dict[str, str]:
        from models.clock import utcnow

        env = dict(os.environ)
        env.update(
            RAPPORT_HOST=self.settings.host,
            RAPPORT_PORT=str(self.settings.port),
            RAPPORT_WORKERS=str(len(self.sockets)),
        )
        if self.settings.clock_at:  # the supervisor's pinned clock, as it reads now
            env["RAPPORT_CLOCK_AT"] = utcnow().isoformat()
        # The same code as the supervisor's, wherever the worker's interpreter would look first.
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
        return env

    def spawn(self, index: int) -> None:
        sock = self.sockets[index]
        fd = sock.fileno()
        cmd = [
            sys.executable, "-m", "rapport.entry.workers",
            "--fd", str(fd), "--index", str(index), "--parent", str(os.getpid()),
        ]  # fmt: skip
        proc = subprocess.Popen(cmd, env=self._env(), pass_fds=(fd,))
        self.procs[index] = proc
        log.info("worker %d of %d started (pid %d)", index + 1, len(self.sockets), proc.pid)

    def run(self) -> int:
        def on_signal(signum: int, _frame: Any) -> None:
            self.stopping = True

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, on_signal)
        for index in range(len(self.sockets)):
            self.spawn(index)
        restart_at: dict[int, float] = {}
        while not self.stopping:
            time.sleep(0.2)
            for index, proc in enumerate(self.procs):
                if self.stopping or proc is None:
                    continue
                code = proc.poll()
                if code is None:
                    continue
                if code in (2, STARTUP_FAILURE):
                    log.error("worker %d (pid %d) could not start (exit code %d); stopping", index + 1,
                              proc.pid, code)  # fmt: skip
                    self.exit_code = code
                    self.stopping = True
                    break
                log.warning("worker %d (pid %d) ended (exit code %s); starting another", index + 1,
                            proc.pid, code)  # fmt: skip
                self.procs[index] = None
                restart_at[index] = time.monotonic() + RESTART_PAUSE_SECONDS
            for index, when in list(restart_at.items()):
                if not self.stopping and time.monotonic() >= when:
                    del restart_at[index]
                    self.spawn(index)
        self.stop()
        return self.exit_code

    def stop(self) -> None:
        """SIGTERM to every worker, wait for each (graceful shutdown), then SIGKILL what is left."""
        alive = [p for p in self.procs if p is not None and p.poll() is None]
        for proc in alive:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        # Each worker closes its copy as it stops accepting; with ours closed too, the port is free and
        # new connections are refused (browsers reconnect elsewhere) instead of waiting in a queue.
        for sock in self.sockets:
            sock.close()
        deadline = time.monotonic() + STOP_SECONDS
        for proc in alive:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker pid %d did not stop within %d s; killing it", proc.pid, STOP_SECONDS)
                proc.kill()
                proc.wait()
        log.info("all %d workers stopped", len(self.sockets))


def serve_workers(settings: Settings) -> int:
    """Run ``settings.workers`` worker processes on ``settings.host:settings.port``; the exit code."""
    try:
        sockets = open_sockets(settings.host, settings.port, settings.workers)
    except PortInUse as exc:
        import typer

        message = f"rapport: {exc}; stop the server that uses it or choose another RAPPORT_PORT."
        typer.secho(message, fg=typer.colors.RED, err=True)
        return 1
    log.info("serving on %s:%d with %d worker processes", settings.host, settings.port, settings.workers)
    return Supervisor(settings, sockets).run()


# ---------------------------------------------------------------------------------------------------
# A worker (``python -m rapport.entry.workers``, started by the supervisor)


def _die_with_parent(parent: int) -> None:
    """Ask Linux to send SIGTERM to this process when its supervisor dies (even by SIGKILL)."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # it died before the request above was in place
        sys.exit(0)


def _worker(fd: int, index: int, parent: int) -> int:
    import typer
    import uvicorn

    from rapport.core.logs import setup_logging
    from rapport.entry.cli_common import open_context
    from rapport.entry.server import create_app

    _die_with_parent(parent)
    sock = socket.socket(fileno=fd)
    try:
        ctx = open_context()  # the supervisor's settings, from the environment it handed on
    except typer.Exit as exc:  # open_context has printed the one-sentence reason
        return int(exc.exit_code)
    setup_logging(ctx.settings.log_format)
    gc.set_threshold(*GC_THRESHOLDS)
    app = create_app(ctx, workers=ctx.settings.workers)
    server = uvicorn.Server(uvicorn.Config(app, **server_options(ctx.settings)))
    server.run(sockets=[sock])
    return 0 if server.started else STARTUP_FAILURE


def _main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="rapport.entry.workers", description="one worker of rapport serve")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--parent", type=int, required=True)
    args = parser.parse_args(argv)
    return _worker(args.fd, args.index, args.parent)


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
