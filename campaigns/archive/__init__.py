"""The public side of sent issues: web views, the archive and its feeds."""
