"""``python -m cxsim`` runs the command line."""

from .cli import main

main()
