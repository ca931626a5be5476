"""``python -m hotspots.cli``: the same as the ``hotspots`` console script."""

from . import app

app()
