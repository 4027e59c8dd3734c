"""Render an issue's content into the email subscribers receive (pure: no database, no request)."""
