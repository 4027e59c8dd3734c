"""The welcome email: an approved issue sent once to each newcomer to a category or to all."""
