"""The matrix's columns: every (ctx, token, ...) service of the admin modules, one file per module."""

from __future__ import annotations

from tests.integration.access_matrix.cells import Op
from tests.integration.access_matrix.ops.backend import BACKEND_OPS
from tests.integration.access_matrix.ops.calendar import CALENDAR_OPS
from tests.integration.access_matrix.ops.cases import CASE_OPS
from tests.integration.access_matrix.ops.dashboard import DASHBOARD_OPS
from tests.integration.access_matrix.ops.documents import DOCUMENT_OPS
from tests.integration.access_matrix.ops.extensions import EXTENSION_OPS
from tests.integration.access_matrix.ops.hotline import HOTLINE_OPS
from tests.integration.access_matrix.ops.jobs import JOBS_OPS
from tests.integration.access_matrix.ops.ledger import LEDGER_OPS
from tests.integration.access_matrix.ops.rules import RULES_OPS
from tests.integration.access_matrix.ops.staff_portal import STAFF_PORTAL_OPS
from tests.integration.access_matrix.ops.supervision import SUPERVISION_OPS

OPS: list[Op] = [
    *BACKEND_OPS,
    *HOTLINE_OPS,
    *SUPERVISION_OPS,
    *DASHBOARD_OPS,
    *JOBS_OPS,
    *DOCUMENT_OPS,
    *STAFF_PORTAL_OPS,
    *LEDGER_OPS,
    *RULES_OPS,
    *EXTENSION_OPS,
    *CALENDAR_OPS,
    *CASE_OPS,
]
