"""Drafts from a feed: watched RSS and Atom feeds whose new items become draft issues."""
