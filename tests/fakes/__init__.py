"""Local stand-ins for mail providers: a fake SendGrid HTTP API and an SMTP sink."""
