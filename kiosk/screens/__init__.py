"""One module per kiosk screen; each builds its controls from the host (kiosk/host.py, never the app
class) and keeps its own flow's handlers beside it."""
