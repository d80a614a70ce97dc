"""What every command of the command line shares: a one-sentence refusal (exit code 2), the
application context with settings checked and the database migrated, and branch codes. Its own
module, below both, so `rapport.entry.cli` and `rapport.entry.cli_clocks` import it and not each other."""

from __future__ import annotations

import typer
from sqlmodel import select

from rapport.core.context import AppContext
from rapport.core.db import Database, DatabaseConfigError
from rapport.core.settings import SettingsError, checked_settings


def fail(message: str) -> typer.Exit:
    typer.secho(f"rapport: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=2)


def open_context(**overrides: object) -> AppContext:
    """Settings checked, database reachable and migrated, catalog loaded."""
    from models.catalog import load_catalog
    from rapport.core.migrate import upgrade

    try:
        settings, secret = checked_settings(**overrides)
        db = Database.from_url(settings.effective_database_url)
        upgrade(db.engine)
    except SettingsError as exc:
        raise fail(str(exc)) from None
    except DatabaseConfigError as exc:
        raise fail(f"the database is not usable: {exc}") from None
    except Exception as exc:  # driver errors: unreachable server, bad credentials, ...
        raise fail(
            f"Setting RAPPORT_DATABASE_URL points to a database that cannot be opened "
            f"({type(exc).__name__}: {str(exc).splitlines()[0]})."
        ) from None
    with db.write() as session:
        load_catalog(session)
    return AppContext(settings=settings, db=db, secret_key=secret)


def branch_by_code(ctx: AppContext, code: str) -> tuple[int, str]:
    """(id, time zone) of the branch with this code, or a one-sentence refusal naming the known codes."""
    from models.org import Branch

    with ctx.db.read() as session:
        rows = session.exec(select(Branch)).all()
    found = next((b for b in rows if b.code == code), None)
    if found is None or found.id is None:
        known = ", ".join(sorted(b.code for b in rows)) or "none yet"
        raise fail(f"no branch with code {code!r} (known branch codes: {known}).")
    return found.id, found.timezone
