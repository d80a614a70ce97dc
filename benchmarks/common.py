"""Shared pieces of the benchmarks: targets and the report, percentiles, process memory, the machine,
a throw-away organisation (branches, counters, staff, enrolled tablets) and a real `rapport serve`.

Why targets are checked here and not in pytest: these machines are shared and noisy, so a figure is
something to print next to its target and record (docs/PERFORMANCE.md), not a unit test. Each script
still exits non-zero when a target is missed, so `make bench` fails loudly.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python benchmarks/bench_x.py` from anywhere
    sys.path.insert(0, str(REPO))

# Generated databases and result files live outside the work tree (they are large and per machine).
BENCH_DIR = Path(os.environ.get("RAPPORT_BENCH_DIR", "/tmp/rapport-bench"))


# ---------------------------------------------------------------------------------------------------
# Figures and targets


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    # ("<", 100.0) means the value must be below 100; None: informational.
    target: tuple[str, float] | None = None

    @property
    def ok(self) -> bool | None:
        if self.target is None:
            return None
        op, limit = self.target
        return {
            "<": self.value < limit,
            "<=": self.value <= limit,
            ">": self.value > limit,
            ">=": self.value >= limit,
            "==": self.value == limit,
        }[op]

    def line(self) -> str:
        value = f"{self.value:,.3f}".rstrip("0").rstrip(".") if self.value % 1 else f"{self.value:,.0f}"
        target = f"target {self.target[0]} {self.target[1]:,g} {self.unit}" if self.target else "(info)"
        mark = {True: "ok  ", False: "MISS", None: "    "}[self.ok]
        return f"  {mark} {self.name:<64} {value:>14} {self.unit:<8} {target}"


@dataclass
class Report:
    """The figures of one benchmark run; printed as a table and saved as JSON."""

    bench: str
    params: dict[str, Any] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    def add(self, name: str, value: float, unit: str, target: tuple[str, float] | None = None) -> Figure:
        fig = Figure(name, float(value), unit, target)
        self.figures.append(fig)
        print(fig.line(), flush=True)
        return fig

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    @property
    def missed(self) -> list[Figure]:
        return [f for f in self.figures if f.ok is False]

    def finish(self) -> int:
        """Print the verdict, save the JSON next to the other results, return the exit code."""
        elapsed = time.time() - self.started
        missed = self.missed
        verdict = "all targets met" if not missed else f"{len(missed)} target(s) MISSED"
        print(f"{self.bench}: {verdict} ({elapsed:.0f} s)", flush=True)
        out = BENCH_DIR / "results"
        out.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        data = {
            "bench": self.bench,
            "date": stamp,
            "elapsed_s": round(elapsed, 1),
            "params": self.params,
            "machine": machine(),
            "notes": self.notes,
            "figures": [
                {"name": f.name, "value": f.value, "unit": f.unit, "target": f.target, "ok": f.ok}
                for f in self.figures
            ],
        }
        (out / f"{self.bench}-{stamp}.json").write_text(json.dumps(data, indent=2, ensure_ascii=False))
        return 1 if missed else 0


def header(title: str, **params: Any) -> None:
    m = machine()
    print(f"== {title}", flush=True)
    print(f"   {m['date']}  commit {m['commit']}  {m['cores']} cores, {m['mem_gib']} GiB, load {m['load']}")
    if params:
        print("   " + ", ".join(f"{k}={v}" for k, v in params.items()), flush=True)


def percentile(values: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); p in 0..100."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


# ---------------------------------------------------------------------------------------------------
# The machine and processes


def _proc_status(pid: int | str, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])  # kB
    return 0


def rss_kb(pid: int | str = "self") -> int:
    """Resident memory now (VmRSS), in KiB."""
    return _proc_status(pid, "VmRSS")


def peak_rss_kb(pid: int | str = "self") -> int:
    """Highest resident memory so far (VmHWM), in KiB."""
    return _proc_status(pid, "VmHWM")


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time a process (all its threads) has used so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, Any]:
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        commit += "+dirty" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    cpu = platform.processor() or ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "cores": os.cpu_count(),
        "cpu": cpu,
        "mem_gib": round(mem_kb / 1024 / 1024, 1),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rapport_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a `rapport` process with its own data directory and nothing inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(RAPPORT_DATA_DIR=str(data_dir), RAPPORT_LOCALE="zh-CN", **extra)
    return env


def upgrade_schema(data_dir: Path, *, tree: Path = REPO) -> None:
    """The schema of ``tree``'s code (another work tree: a before/after comparison) in ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "rapport", "db", "upgrade"],
        env=rapport_env(data_dir),
        check=True,
        capture_output=True,
        cwd=tree,
    )


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def running_server(
    data_dir: Path, *, env: dict[str, str] | None = None, tree: Path = REPO, workers: int = 1
) -> Iterator[Server]:
    """A real `rapport serve` on a free loopback port (the database must exist), stopped afterwards.
    ``tree``: the work tree whose code serves (``python -m`` imports from its working directory
    first), for a before/after comparison against an older checkout in a ``git worktree``.
    ``workers``: ``rapport serve --workers N`` (N processes behind the port) when more than one."""
    import httpx

    port = free_port()
    log = data_dir / "server.log"
    full_env = rapport_env(data_dir, RAPPORT_PORT=str(port), RAPPORT_HOST="127.0.0.1", **(env or {}))
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rapport", "serve", *(["--workers", str(workers)] if workers > 1 else [])],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tree,
        )
    url = f"http://127.0.0.1:{port}"
    server = Server(url, proc, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{server.log_tail()}")
            time.sleep(0.2)
        profiler = _start_profiler(proc.pid)
        yield server
    finally:
        if "profiler" in locals() and profiler is not None:
            profiler.send_signal(2)  # py-spy writes its file on SIGINT
            profiler.wait(timeout=60)
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        # Keep the server's log beside the results: the data directory is thrown away.
        logs = BENCH_DIR / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, logs / f"{data_dir.name}.log")


def _start_profiler(pid: int) -> subprocess.Popen[bytes] | None:
    """With ``RAPPORT_BENCH_PROFILE=<dir>``, sample the server with py-spy (collapsed stacks, which
    ``grep``/flamegraph tools read) for as long as it runs. py-spy is found on PATH or through
    ``RAPPORT_BENCH_PYSPY``; it is a profiling aid, not a dependency of the project. Only the thread
    holding the GIL is sampled (``--gil``): threads queued for the write lock or the GIL would
    otherwise show up as work."""
    out_dir = os.environ.get("RAPPORT_BENCH_PROFILE")
    if not out_dir:
        return None
    py_spy = os.environ.get("RAPPORT_BENCH_PYSPY") or shutil.which("py-spy")
    if not py_spy:
        print("   RAPPORT_BENCH_PROFILE is set but py-spy was not found; not profiling", flush=True)
        return None
    out = Path(out_dir) / f"server-{datetime.now(UTC).strftime('%H%M%S')}-{pid}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"   profiling the server with py-spy into {out}", flush=True)
    return subprocess.Popen(
        [py_spy, "record", "--pid", str(pid), "--format", "raw", "--output", str(out), "--gil"]
        + ["--nonblocking", "--rate", os.environ.get("RAPPORT_BENCH_PYSPY_RATE", "200")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# ---------------------------------------------------------------------------------------------------
# A throw-away organisation


@dataclass(frozen=True)
class Org:
    branch_ids: tuple[int, ...]
    counter_ids: tuple[int, ...]
    staff_ids: tuple[int, ...]
    # (device id, counter id, plain token) per enrolled tablet
    devices: tuple[tuple[int, int, str], ...]


def seed_org(db: Any, *, branches: int, counters_per_branch: int, staff_per_branch: int, devices: int) -> Org:
    """Branches with counters and counter staff, every counter staffed (an open duty), and ``devices``
    tablets enrolled round-robin over the counters. Uses the model's own services where they exist."""
    from models.catalog import load_catalog
    from models.clock import utcnow
    from models.devices import register_device
    from models.org import Branch, Counter, Duty, Role, Staff

    now = utcnow()
    branch_ids, counter_ids, staff_ids, devs = [], [], [], []
    with db.write() as s:
        load_catalog(s)
        for b in range(branches):
            branch = Branch(code=f"BR{b:02d}", name_zh=f"第{b + 1}支行", name_en=f"Branch {b + 1}")
            s.add(branch)
            s.flush()
            assert branch.id is not None
            branch_ids.append(branch.id)
            people = []
            for p in range(staff_per_branch):
                person = Staff(
                    employee_no=f"B{b:02d}S{p:03d}",
                    display_name=f"员工{b:02d}{p:03d}",
                    role=Role.staff,
                    branch_id=branch.id,
                )
                s.add(person)
                people.append(person)
            s.flush()
            staff_ids.extend(p.id for p in people if p.id is not None)
            for c in range(counters_per_branch):
                counter = Counter(
                    branch_id=branch.id,
                    code=f"BR{b:02d}-{c + 1:02d}",
                    name_zh=f"{c + 1}号窗口",
                    name_en=f"Counter {c + 1}",
                )
                s.add(counter)
                s.flush()
                assert counter.id is not None
                counter_ids.append(counter.id)
                on_duty = people[c % len(people)]
                assert on_duty.id is not None
                s.add(Duty(staff_id=on_duty.id, counter_id=counter.id, started_at=now))
        s.commit()
    with db.write() as s:
        for i in range(devices):
            counter_id = counter_ids[i % len(counter_ids)]
            device, token = register_device(s, counter_id=counter_id, label=f"bench tablet {i}")
            assert device.id is not None
            devs.append((device.id, counter_id, token))
    return Org(tuple(branch_ids), tuple(counter_ids), tuple(staff_ids), tuple(devs))


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
