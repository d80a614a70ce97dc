"""One exception-to-message mapper for the admin screens (issue 17).

A screen calls a service through ``app.call(...)`` and turns what went wrong into a catalog key::

    try:
        await app.call(...)
    except SessionExpired:
        return  # app.call has already sent the user to sign in: no message
    except ValidationFailed as exc:
        ...  # screen-specific: point at the field, keep the draft
    except Exception as exc:
        v.say(*message_for(exc, {NotFound: "admin.people.error.gone"}, log=log, failed="admin: ... failed"))

``message_for`` checks the screen's own ``{ExceptionType: key}`` cases first (in their order, so list a
subclass before its base, as the ``except`` clauses did), then the cases every screen shares; anything
else is logged once with ``log.exception`` and shown as the generic message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from models.auth import SessionExpired
from models.errors import Forbidden

_log = logging.getLogger(__name__)

FORBIDDEN = "admin.error.forbidden"
GENERIC = "admin.error.generic"

Key: TypeAlias = str | Callable[[Any], str]
"""A catalog key, or a function making it from the exception (``lambda e: f"...{e.reason}"``)."""

COMMON: Mapping[type[Exception], Key] = {Forbidden: FORBIDDEN}


def message_for(
    exc: Exception,
    specific: Mapping[type[Exception], Key] | None = None,
    *,
    log: logging.Logger | None = None,
    failed: str = "admin: a step failed",
    args: tuple[object, ...] = (),
    generic: str = GENERIC,
) -> tuple[str, dict[str, Any]]:
    """The catalog key (and its values) to show for ``exc``.

    ``specific`` is the screen's own cases, checked first; then ``Forbidden`` (a conflict of interest
    included) is "admin.error.forbidden". Anything else is unexpected: it is logged with
    ``log.exception(failed, *args)`` on the screen's logger, exactly once, and mapped to ``generic``.
    A ``SessionExpired`` is never a message (app.call has sent the user to sign in): the caller must
    catch it first and stop; given one, this raises it again."""
    if isinstance(exc, SessionExpired):
        raise exc
    for cases in (specific or {}, COMMON):
        for kind, key in cases.items():
            if isinstance(exc, kind):
                return (key if isinstance(key, str) else key(exc)), {}
    (log or _log).exception(failed, *args, exc_info=exc)
    return generic, {}
