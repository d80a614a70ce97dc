"""R5 access matrix (docs/QUALITY.md): who may call which admin service, on whose data.

Rows are actors: nobody signed in (no token, a made-up token, a kiosk's device token, an idle
session, a signed-out session), an account disabled or deactivated after signing in, a counter
staff member of branch A, the supervisors of branches A and B, and an administrator (no branch).
Columns are every public ``fn(ctx, token, ...)`` of the admin modules in ``ADMIN_MODULES``
(backend, hotline, supervision, dashboard, jobs, documents, staff_portal, ledger, rules, extensions,
calendar, cases), each called
on data of branch A and of branch B where the call names a branch, complaint, alert, person, ledger
entry, appeal or rating. A cell is either allowed, and then returns only in-scope data (checked
against the database; a staff member's own page only their own data and no customer contact data),
or refused with ``SessionExpired`` / ``Forbidden`` (``NotFound`` where a service answers someone
else's record exactly like a missing one), and then the database is exactly as before.
``test_the_matrix_covers_every_admin_service`` fails when a new service appears that no row of
``OPS`` covers, or a row names a service that no longer exists.

The customer side follows: a kiosk's device token is bound to its counter and branch, a revoked
one is refused by the kiosk backend and the HTTP API, a tracking code shows nothing internal, and
an unknown QR token is refused.

The package: ``world`` (the two branches, their people and data, sign-in helpers) and ``conftest``
(the ``env`` fixture built from it, cheap argon2 for every test here); ``cells`` (the actors, ``Op``,
the database snapshots and ``run_cell``, which calls, compares and checks one cell); ``common`` (call
builders and checks several tables share); ``ops/`` (one file per admin module: its ``*_OPS`` list
with the checks and prepares only it uses; ``ops.OPS`` joins them in one order); and the tests:
``test_cells`` (every cell), ``test_coverage`` (no service without a row, no row without a
service), ``test_sections``, ``test_scope`` (scope rules inside allowed calls), ``test_conflict``
(回避) and ``test_customer_side``.
"""
