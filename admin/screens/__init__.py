"""One module per admin screen."""
