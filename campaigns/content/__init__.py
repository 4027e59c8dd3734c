"""The content model of an issue: blocks and the document, as typed, validated values."""
