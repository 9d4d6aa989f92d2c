"""``python -m cxsim`` runs the command line."""

from .cli import entry

entry()
