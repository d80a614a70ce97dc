"""The `rapport` command: serve, demo data, database upgrades, device enrolment codes, monthly reports,
badge sheets, backups, restores and exports, and the provincial feed (docs/OPERATIONS.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import select

from rapport.core.context import AppContext
from rapport.core.db import Database
from rapport.core.settings import Settings, SettingsError
from rapport.entry import cli_clocks, cli_services
from rapport.entry.cli_common import branch_by_code as _branch_by_code
from rapport.entry.cli_common import fail as _fail
from rapport.entry.cli_common import open_context as _context

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Rapport feedback kiosk and conduct ledger."
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
device_app = typer.Typer(no_args_is_help=True, help="Counter tablets.")
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log.")
user_app = typer.Typer(no_args_is_help=True, help="Staff, supervisor and administrator accounts.")
feed_app = typer.Typer(no_args_is_help=True, help="The provincial 好差评 feed (docs/OPERATIONS.md).")
app.add_typer(user_app, name="user")
app.add_typer(db_app, name="db")
app.add_typer(device_app, name="device")
app.add_typer(audit_app, name="audit")
app.add_typer(feed_app, name="feed")
cli_clocks.register(app)
cli_services.register(app)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (RAPPORT_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (RAPPORT_PORT).")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Server processes sharing the port (RAPPORT_WORKERS; default 1)."),
    ] = None,
) -> None:
    """Upgrade the schema and serve the kiosk, the admin app and the API."""
    from rapport.core.logs import setup_logging
    from rapport.entry.workers import serve_workers, server_options

    ctx = _context(host=host, port=port, workers=workers)
    settings = ctx.settings
    if settings.workers > 1 and ctx.db.engine.url.database in (None, "", ":memory:"):
        raise _fail("RAPPORT_WORKERS above 1 needs a database file or PostgreSQL, not an in-memory SQLite.")
    setup_logging(settings.log_format)
    base = settings.effective_public_url
    print(f"Rapport is starting ({settings.env.value}, database: {ctx.db.engine.url.get_backend_name()})")
    print(f"  Kiosk:  {base}/")
    print(f"  Admin:  {base}/admin/")
    print(f"  API:    {base}/api/v1/ratings, /api/v1/services  (see docs/API.md)")
    print(f"  Complaint status: {base}/t/<tracking code>")
    if not settings.is_production:
        code = _demo_enrolment_code(ctx)
        if code:
            print(f"  Enrol this browser as a counter tablet: {base}/enrol/{code}  (one-time, 24 h)")
        badge = _first_badge(ctx)
        if badge:
            print(f"  Rate from a phone (staff badge QR link of {badge[0]}): {base}/s/{badge[1]}")
    sys.stdout.flush()
    if settings.workers > 1:  # several processes behind the port; the app is loaded in each of them
        ctx.db.dispose()
        raise typer.Exit(code=serve_workers(settings))
    import gc

    import uvicorn

    from rapport.entry.server import create_app
    from rapport.entry.workers import GC_THRESHOLDS

    gc.set_threshold(*GC_THRESHOLDS)  # as in each of several workers (rapport/entry/workers.py)
    uvicorn.run(create_app(ctx), host=settings.host, port=settings.port, **server_options(settings))


def _demo_enrolment_code(ctx: AppContext) -> str | None:
    from models.devices import issue_enrolment_code
    from models.org import Counter

    with ctx.db.write() as session:
        counter = session.exec(select(Counter).order_by(Counter.id)).first()  # type: ignore[arg-type]
        if counter is None or counter.id is None:
            return None
        return issue_enrolment_code(session, counter_id=counter.id)


def _first_badge(ctx: AppContext) -> tuple[str, str] | None:
    from models.org import Role, Staff

    with ctx.db.read() as session:
        staff = session.exec(
            select(Staff).where(Staff.role == Role.staff, Staff.active).order_by(Staff.id)  # type: ignore[arg-type]
        ).first()
        return (staff.employee_no, staff.qr_token) if staff else None


@app.command()
def demo(
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing if data already exists.")] = False,
    days: Annotated[int, typer.Option(min=1, max=730, help="Days of ratings to generate.")] = 90,
    distribution: Annotated[
        str,
        typer.Option(
            help="kiosk: a voluntary tablet, 2–5% 差评 and many 4s; "
            "hall: an official-style 好差评 hall, above 99% 好评, nearly all 5s."
        ),
    ] = "kiosk",
) -> None:
    """Fill an empty database with demo branches, staff, tablets and ratings."""
    from rapport.usecases.demo import DISTRIBUTIONS, create_demo, database_is_empty

    chosen = next((d for d in DISTRIBUTIONS if d == distribution), None)
    if chosen is None:
        raise _fail(f"unknown distribution {distribution!r}: choose one of {', '.join(DISTRIBUTIONS)}.")
    ctx = _context()
    with ctx.db.write() as session:
        if not database_is_empty(session):
            if if_empty:
                print("Demo data: the database already has data; nothing to do.")
                return
            raise _fail("the database already has data; the demo only fills an empty database.")
        with typer.progressbar(length=days + 1, label="Generating demo ratings", file=sys.stdout) as bar:
            last = 0

            def progress(done: int, _total: int) -> None:
                nonlocal last
                bar.update(done - last)
                last = done

            result = create_demo(session, days=days, progress=progress, distribution=chosen)
    print(f"Demo data ready: {result.ratings:,} ratings over {days} days ({distribution} distribution).")
    if result.calendar_years:
        years = ", ".join(map(str, result.calendar_years))
        print(f"Working-day calendar (holidays and make-up days) imported for {years}.")
    if result.calendar_missing:
        years = ", ".join(map(str, result.calendar_missing))
        print(f"No published holidays for {years} in chinese-calendar yet: enter them on the rules screen.")
    print("Demo logins for /admin/ (every counter staff member e1001–e1014 uses the staff password):")
    for role, username, password in result.logins:
        print(f"  {role:<10} {username:<14} {password}")
    print(f"Staff employee numbers: {', '.join(result.staff_numbers[:5])}, ... (counter PIN {result.pin})")
    counter_code, token = result.device_tokens[0]
    print(f"Device API token for counter {counter_code}: {token}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to the newest version (safe to run twice)."""
    ctx = _context()
    print(f"Database schema is current ({ctx.db.engine.url.get_backend_name()}).")


@device_app.command("enrol-code")
def device_enrol_code(counter: Annotated[str, typer.Argument(help="Counter code, e.g. BJ-RM-01.")]) -> None:
    """Issue a one-time code that binds a tablet to a counter."""
    from models.devices import issue_enrolment_code
    from models.org import Counter

    ctx = _context()
    with ctx.db.write() as session:
        row = session.exec(select(Counter).where(Counter.code == counter)).first()
        if row is None or row.id is None:
            raise _fail(f"no counter with code {counter!r}.")
        code = issue_enrolment_code(session, counter_id=row.id)
    print(f"Enrolment code for {counter}: {code}  (one-time, valid 24 h)")
    print(f"Or open on the tablet: {ctx.settings.effective_public_url}/enrol/{code}")


@device_app.command("token")
def device_token(
    counter: Annotated[str, typer.Argument(help="Counter code, e.g. BJ-RM-01.")],
    label: Annotated[str, typer.Option(help="What the device is, e.g. 'queue system'.")] = "integration",
) -> None:
    """Enrol an integration (a queue system, a hotline system) as a device of a counter and print its
    API token once: the server keeps only its digest. `rapport device revoke` ends it."""
    from models.audit import append
    from models.devices import register_device
    from models.org import Counter

    name = label.strip()
    if not name or len(name) > 80 or not name.isprintable():
        raise _fail("the label must be printable text of 1 to 80 characters.")
    ctx = _context()
    with ctx.db.write() as session:
        row = session.exec(select(Counter).where(Counter.code == counter)).first()
        if row is None or row.id is None:
            raise _fail(f"no counter with code {counter!r}.")
        device, token = register_device(session, counter_id=row.id, label=name)
        append(session, action="device.token", entity="device", entity_id=device.id, now=ctx.clock())
        session.commit()
    print(f"Device {device.id} ({name}) at {counter}. Its API token, shown only now:")
    print(token)


@device_app.command("list")
def device_list(
    counter: Annotated[str | None, typer.Option(help="Only this counter, e.g. BJ-RM-01.")] = None,
) -> None:
    """Enrolled tablets: id, counter, label, when enrolled and last seen, and whether revoked."""
    from models.devices import list_devices

    ctx = _context()
    with ctx.db.read() as session:
        rows = list_devices(session, counter_code=counter)
    if not rows:
        print("No enrolled devices" + (f" at counter {counter}." if counter else "."))
        return
    for device, c in rows:
        seen = device.last_seen_at.isoformat(timespec="minutes") if device.last_seen_at else "never"
        state = (
            f"revoked {device.revoked_at.isoformat(timespec='minutes')}" if device.revoked_at else "active"
        )
        print(f"{device.id:>5}  {c.code:<12} {device.label:<24} last seen {seen:<17} {state}")


@device_app.command("revoke")
def device_revoke(
    device_id: Annotated[int, typer.Argument(help="The device id shown by `rapport device list`.")],
) -> None:
    """Stop a lost or stolen tablet at once: its token no longer works anywhere."""
    from models.devices import revoke_device
    from models.errors import DeviceNotAuthorized

    ctx = _context()
    try:
        with ctx.db.write() as session:
            device = revoke_device(session, device_id=device_id, now=ctx.clock())
    except DeviceNotAuthorized:
        raise _fail(f"there is no device {device_id}; `rapport device list` shows the ids.") from None
    print(f"Device {device.id} ({device.label}) is revoked; a replacement enrols with a new code.")


@user_app.command("create")
def user_create(
    employee_no: Annotated[str, typer.Option(help="Unique employee number, e.g. E2001.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[str, typer.Option(help="staff, supervisor or admin.")] = "staff",
    branch: Annotated[str | None, typer.Option(help="Branch code (required unless admin).")] = None,
    username: Annotated[str | None, typer.Option(help="Sign-in name (default: the employee number).")] = None,
) -> None:
    """Create an account; the password is asked for twice and never echoed."""
    from models.auth import create_user
    from models.errors import ValidationFailed
    from models.org import Branch

    ctx = _context()
    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with ctx.db.write() as session:
        branch_id = None
        if branch:
            row = session.exec(select(Branch).where(Branch.code == branch)).first()
            if row is None:
                raise _fail(f"no branch with code {branch!r}.")
            branch_id = row.id
        try:
            staff = create_user(
                session, employee_no=employee_no, display_name=name, role=role, branch_id=branch_id,
                username=username or employee_no.lower(), password=password,
            )  # fmt: skip
        except ValidationFailed as exc:
            raise _fail(f"{exc.field}: {exc}") from None
    print(f"Created {staff.role} {staff.employee_no} ({staff.display_name}); sign in as {staff.username}.")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the whole audit chain; name the first broken entry (exit 1 if there is one)."""
    from models.audit import verify

    ctx = _context()
    with ctx.db.read() as session:
        report = verify(session)
    if report.ok:
        print(f"Audit chain intact: {report.entries:,} entries.")
        return
    typer.secho(
        f"Audit chain broken at entry {report.first_broken}: {report.reason} "
        f"({report.entries:,} entries before it check out).",
        fg=typer.colors.RED,
        err=True,
    )
    raise typer.Exit(code=1)


def _operator_settings() -> Settings:
    """Settings and a writable data directory, without opening (or creating) the database."""
    from rapport.core.settings import apply_clock, check_database_url, load_settings, prepare_data_dir

    try:
        settings = load_settings()
        check_database_url(settings.effective_database_url)
        apply_clock(settings)
        prepare_data_dir(settings)
    except SettingsError as exc:
        raise _fail(str(exc)) from None
    return settings


@app.command()
def backup(
    out: Annotated[
        Path | None, typer.Option(help="Directory for the backup (default: <data dir>/backups).")
    ] = None,
) -> None:
    """Back up the SQLite database while it is in use, check the copy, and drop old backups.

    Keeps the newest RAPPORT_BACKUP_KEEP backups (and, with RAPPORT_BACKUP_KEEP_DAYS, every one
    younger than that many days). PostgreSQL is backed up with pg_dump instead.
    """
    from rapport.usecases.backup import BackupError, run_backup

    settings = _operator_settings()
    try:
        result = run_backup(settings, dest_dir=out)
    except BackupError as exc:
        raise _fail(str(exc)) from None
    ratings = result.row_counts.get("rating", 0)
    print(f"Backup written: {result.path} ({result.size_bytes / 1e6:,.1f} MB, {ratings:,} ratings).")
    print(f"  integrity_check: ok; schema revision {result.schema_revision}; sha256 {result.sha256}")
    print(f"  Manifest: {result.manifest_path}")
    for old in result.pruned:
        print(f"  Removed old backup {old.name}")


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="A .db file made by `rapport backup` (manifest beside it).")],
) -> None:
    """Restore a backup into an empty data directory, then bring its schema up to date."""
    from rapport.usecases.backup import BackupError, restore_sqlite

    settings = _operator_settings()
    try:
        result = restore_sqlite(file, settings.effective_database_url)
    except BackupError as exc:
        raise _fail(str(exc)) from None
    except Exception as exc:  # the copy is in place but a migration failed
        raise _fail(
            f"the backup was copied but the schema upgrade failed ({type(exc).__name__}: {exc}); "
            f"fix the cause and run `rapport db upgrade`."
        ) from None
    ratings = result.row_counts.get("rating", 0)
    print(f"Restored {file.name} to {result.database} ({ratings:,} ratings); integrity and SHA-256 checked.")
    print(f"  Schema revision {result.schema_revision_before} -> {result.schema_revision_after} (current).")
    print("  Next: `rapport audit verify`, then `rapport serve`. Keep the same RAPPORT_SECRET_KEY as before.")


@app.command()
def export(
    out: Annotated[
        Path | None,
        typer.Option(
            help="File to write (default: <data dir>/exports/rapport-export-<time>.jsonl; - is stdout)."
        ),
    ] = None,
) -> None:
    """Export every table as JSON lines, leaving out secrets and customers' contact data.

    The first line lists what was left out; see docs/OPERATIONS.md (Export) for the format. A file is
    written under a temporary name, readable only by its owner, and renamed when complete.
    """
    import os

    from models.clock import utcnow
    from rapport.core.migrate import is_current
    from rapport.usecases.data_export import export_data

    settings = _operator_settings()
    now = utcnow()
    to_stdout = out is not None and str(out) == "-"
    path = out or settings.data_dir / "exports" / f"rapport-export-{now:%Y%m%d-%H%M%S}.jsonl"
    temp = path.with_name(f".{path.name}.partial")
    db = Database.from_url(settings.effective_database_url)
    try:
        if not is_current(db.engine):
            raise _fail("the database schema is not current; run `rapport db upgrade` first, then export.")
        if to_stdout:
            result = export_data(db, sys.stdout, now=now)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                result = export_data(db, f, now=now)
            os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise _fail(f"cannot write {path}: {exc.strerror or exc}.") from None
    finally:
        db.dispose()
    target = "standard output" if to_stdout else str(path)
    left_out = ", ".join([*result.omitted_tables, *result.omitted_columns])
    rows = sum(result.rows.values())
    typer.echo(f"Exported {rows:,} rows from {len(result.rows)} tables to {target}.", err=True)
    typer.echo(f"  Left out: {left_out}.", err=True)


def _locale(ctx: AppContext, locale: str | None) -> str:
    from rapport.core.settings import SUPPORTED_LOCALES

    chosen = locale or ctx.settings.locale
    if chosen not in SUPPORTED_LOCALES:
        raise _fail(f"--locale must be one of {', '.join(SUPPORTED_LOCALES)}; got {chosen!r}.")
    return chosen


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise _fail(f"cannot write {path}: {exc.strerror or exc}.") from None


@app.command()
def report(
    branch: Annotated[str, typer.Option(help="Branch code, e.g. BJ-RM.")],
    month: Annotated[str, typer.Option(help="The month, YYYY-MM (e.g. 2026-10).")],
    locale: Annotated[str | None, typer.Option(help="zh-CN or en (default: RAPPORT_LOCALE).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="PDF file to write (default: rapport-<branch>-<month>.pdf here).")
    ] = None,
) -> None:
    """Write the monthly report of a branch as a PDF: scores, trend, complaints, clauses, ledger."""
    from models.clock import utcnow
    from models.errors import ValidationFailed
    from models.scores import Month, local_month
    from rapport.usecases.report_pdf import build_report

    try:
        period = Month.parse(month)
    except ValidationFailed:
        raise _fail(f"--month {month!r} is not a month: write it as YYYY-MM, like 2026-10.") from None
    ctx = _context()
    chosen = _locale(ctx, locale)
    branch_id, tz = _branch_by_code(ctx, branch)
    now = utcnow()
    if period.first_day > local_month(now, tz).first_day:
        raise _fail(f"{period} has not begun yet at {branch}: choose this month or an earlier one.")
    path = out or Path(f"rapport-{branch}-{period}.pdf")

    def progress(fraction: float, step: str) -> None:
        print(f"  {round(fraction * 100):3d}%  {step}", flush=True)

    print(f"Making the {branch} report for {period} ({chosen}) ...")
    with ctx.db.read() as session:
        data = build_report(
            session, branch_id=branch_id, month=period, locale=chosen, progress=progress, now=now
        )
    _write(path, data)
    print(f"Wrote {path} ({len(data) / 1024:,.0f} KB).")


@app.command("qr-sheet")
def qr_sheet(
    branch: Annotated[str, typer.Option(help="Branch code, e.g. BJ-RM.")],
    locale: Annotated[str | None, typer.Option(help="zh-CN or en (default: RAPPORT_LOCALE).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="PDF file to write (default: rapport-badges-<branch>.pdf here).")
    ] = None,
) -> None:
    """Write a printable A4 sheet of QR badges for every active counter staff member of a branch."""
    from models.errors import ValidationFailed
    from rapport.usecases.badges import badge_sheet

    ctx = _context()
    chosen = _locale(ctx, locale)
    branch_id, _tz = _branch_by_code(ctx, branch)
    public_url = ctx.settings.effective_public_url
    if not ctx.settings.public_url:
        typer.secho(
            f"Note: RAPPORT_PUBLIC_URL is not set, so the badges link to {public_url}, "
            "which customers' phones cannot open; set it before printing for real.",
            fg=typer.colors.YELLOW,
            err=True,
        )
    with ctx.db.read() as session:
        try:
            data = badge_sheet(session, branch_id=branch_id, public_url=public_url, locale=chosen)
        except ValidationFailed as exc:
            raise _fail(f"{branch}: {exc}.") from None
    path = out or Path(f"rapport-badges-{branch}.pdf")
    _write(path, data)
    print(f"Wrote {path}: badges linking to {public_url}/s/...")


@feed_app.command("list")
def feed_list(
    paused: Annotated[bool, typer.Option("--paused", help="Only the records the platform refused.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many, newest first.")] = 50,
) -> None:
    """The feed's records, newest first: id, status, attempts, next attempt, the platform's last answer."""
    from models.feed import FeedStatus, list_records

    ctx = _context()
    with ctx.db.read() as session:
        rows = list_records(session, status=FeedStatus.paused if paused else None, limit=limit)
    if not rows:
        print("No paused feed records." if paused else "No feed records.")
        return
    for r in rows:
        when = (
            f"delivered {r.delivered_at.isoformat(timespec='seconds')}"
            if r.delivered_at
            else f"next {r.next_attempt_at.isoformat(timespec='seconds')}"
            if r.status == FeedStatus.pending
            else "waits for `rapport feed resend`"
        )
        print(f"{r.id}  {r.status:<9} attempts {r.attempts:<3} {when}  rating {r.rating_id}")
        if r.last_attempt_at is not None:
            answer = " ".join(r.last_answer.split())[:300] or "(empty)"
            at = r.last_attempt_at.isoformat(timespec="seconds")
            print(f"    last answer {r.last_status or 'none'} at {at}: {answer}")


@feed_app.command("resend")
def feed_resend(
    record_id: Annotated[str, typer.Argument(help="The record id shown by `rapport feed list`.")],
) -> None:
    """Send a paused record again at the worker's next pass (after fixing what the platform refused)."""
    from models.errors import NotFound, ValidationFailed
    from models.feed import find_record, resend

    ctx = _context()
    try:
        with ctx.db.write() as session:
            record = find_record(session, record_id)
            resend(session, record_id=record.id, now=ctx.clock())
            session.commit()
    except (NotFound, ValidationFailed) as exc:
        raise _fail(f"{exc}.") from None
    print(f"Feed record {record.id} will be sent again at the next pass (within 30 seconds on the server).")
    if not ctx.settings.feed_on:
        typer.secho(
            "Note: RAPPORT_FEED_URL is not set here, so nothing sends it.", fg=typer.colors.YELLOW, err=True
        )


@feed_app.command("deliver")
def feed_deliver() -> None:
    """One delivery pass now (what the server's job does every 30 seconds)."""
    from models.jobs import RunLog
    from rapport.usecases.feed import deliver_due

    ctx = _context()
    if not ctx.settings.feed_on:
        raise _fail("Setting RAPPORT_FEED_URL is not set: there is no platform to deliver to.")
    run = RunLog()
    deliver_due(ctx, ctx.clock(), run)
    print(f"Delivered {run.done} record(s); {run.failed} not delivered (see `rapport feed list`).")


@feed_app.command("receiver")
def feed_receiver(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")],
    out: Annotated[
        Path | None, typer.Option(help="Append each accepted record here as one JSON line (default: stdout).")
    ] = None,
    fail_first: Annotated[
        int, typer.Option(min=0, help="Answer 503 to this many requests first, to watch the retries.")
    ] = 0,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    token: Annotated[str, typer.Option(help="Require this bearer token (RAPPORT_FEED_TOKEN).")] = "",
) -> None:
    """A local stand-in for the provincial platform: validates records against the documented fields
    (400 naming a bad one), dedupes by record id and writes each accepted record as one JSON line."""
    from rapport.usecases.feed_receiver import serve

    def started(url: str) -> None:
        typer.echo(f"Feed receiver listening on {url} (Ctrl+C stops it)", err=True)

    try:
        serve(host=host, port=port, out=out, fail_first=fail_first, token=token, started=started)
    except OSError as exc:
        raise _fail(f"cannot listen on {host}:{port} ({exc.strerror or exc}).") from None
    except KeyboardInterrupt:
        pass


def main() -> None:
    app()


__all__ = ["Settings", "app", "main"]
