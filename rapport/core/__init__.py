"""Infrastructure: settings, the database engine and sessions, migrations, logging, the live alert
bus and leader election, rate limits, origin checks, the application context and the locale
catalogs. Imports only the models and the standard stack.
"""
