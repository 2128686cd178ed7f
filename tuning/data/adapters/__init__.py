"""One adapter per source kind, each a chunked reader into the store (see `base`)."""
