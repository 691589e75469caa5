"""One module per ``sculpt`` sub-command; each exposes ``register(subparsers)``."""
