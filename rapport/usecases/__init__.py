"""Use cases more than one entry point needs (an app and the API, a job and the command line):
filing a complaint at a place, raising alerts, exports and reports, badges, data export, the demo
region, backups and the scheduler's jobs. They import the core and the models, never an app.
"""
