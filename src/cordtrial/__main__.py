"""``python -m cordtrial`` runs the command line."""

from .cli import app

app()
