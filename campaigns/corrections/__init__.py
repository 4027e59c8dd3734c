"""Corrections of sent issues: writing one, its page, API and CLI (see docs/corrections.md)."""
