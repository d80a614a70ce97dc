"""The Flet look both apps share: the theme (``ui_theme``) and QR images (``qr``).

Above the use cases and infrastructure, below the apps; nothing here reaches the database.
"""
