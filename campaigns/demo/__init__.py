"""The demo content that ``make run`` loads into an empty database."""
