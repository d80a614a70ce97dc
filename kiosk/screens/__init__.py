"""One module per kiosk screen; each builds its controls from the state and the app's callbacks."""
