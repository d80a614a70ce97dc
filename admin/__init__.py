"""The supervisor, administrator and staff app, served under /admin."""
