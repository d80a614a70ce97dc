"""The customer app: counter tablets, and phones through staff QR links."""
