"""`rapport services import|list`: the hall's list of services (事项) that transactions are reported
against (``POST /api/v1/services``; docs/OPERATIONS.md "Transactions and invitations").

Registered on the main command by :mod:`rapport.entry.cli`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

services_app = typer.Typer(no_args_is_help=True, help="The hall's services (事项) and their transactions.")


def register(app: typer.Typer) -> None:
    app.add_typer(services_app, name="services")


@services_app.command("import")
def services_import(
    path: Annotated[
        Path, typer.Argument(help="A CSV in UTF-8: code,name_zh[,name_en,version,department_code].")
    ],
) -> None:
    """Add or update the services of a CSV (the list the hall already has). All or nothing: the first
    bad row is named and nothing changes."""
    from models.errors import ValidationFailed
    from rapport.entry.cli_common import fail, open_context
    from rapport.usecases.services import import_services

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise fail(f"{path}: no such file.") from None
    except UnicodeDecodeError:
        raise fail(f"{path}: not UTF-8 text; save the CSV as UTF-8.") from None
    ctx = open_context()
    try:
        result = import_services(ctx, text)
    except ValidationFailed as exc:
        raise fail(f"{path}: {exc}; nothing was imported.") from None
    print(f"Imported {path}: {result.added} service(s) added, {result.updated} updated.")


@services_app.command("list")
def services_list() -> None:
    """The services, with their code, version and department."""
    from sqlmodel import col, select

    from models.services import ServiceItem
    from rapport.entry.cli_common import open_context

    ctx = open_context()
    with ctx.db.read() as session:
        items = session.exec(select(ServiceItem).order_by(col(ServiceItem.code))).all()
    if not items:
        print("No services yet: `rapport services import FILE.csv`.")
        return
    for item in items:
        state = "" if item.active else "  (retired)"
        names = f"{item.name_zh} / {item.name_en or '-'}"
        print(f"{item.code}  v{item.version}  {item.department_code or '-'}  {names}{state}")
