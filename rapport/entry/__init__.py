"""Entry points: the only modules that import the two apps (kiosk/, admin/).

``server`` (one ASGI process: both Flet apps, the HTTP API, health checks, the scheduler),
``api`` (the HTTP API, /api/v1), ``cli`` and its helpers (the ``rapport`` command).
"""
