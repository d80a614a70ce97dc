"""Every cell of the matrix: each service × each actor × branch A and B where it names one."""

from __future__ import annotations

import pytest

from tests.integration.access_matrix.cells import ACTORS, Op, run_cell
from tests.integration.access_matrix.ops import OPS
from tests.integration.access_matrix.world import Env


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
def test_access_matrix(env: Env, op: Op) -> None:
    failures = [
        problem
        for actor in ACTORS
        for target in op.targets
        if (problem := run_cell(env, op, actor, target)) is not None
    ]
    assert not failures, "\n".join(failures)
