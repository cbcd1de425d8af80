"""The demo: the whole pipeline on the bundled sample, and the wait until it has settled."""
