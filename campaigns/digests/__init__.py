"""Digests: daily and weekly emails listing the bulletins sent to a reader's topics."""
