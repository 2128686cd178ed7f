"""The user's data: read from its source, split once with the spec's seed, stored for workers."""
