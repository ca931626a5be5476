"""Optional dependencies: imported where one feature needs them, named when missing.

The base install stays small for an analyst's laptop; a feature that needs more
(dask for data beyond one machine) asks for its extra by name instead of failing
with a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ._errors import HotspotsError

__all__ = ["MissingExtraError", "require"]


class MissingExtraError(HotspotsError, ImportError):
    """A feature needs a package that only an optional extra installs."""


def require(module: str, *, extra: str, feature: str) -> ModuleType:
    """Import `module`, or explain which extra to install.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"dask_geopandas"``.
    extra : str
        The pip extra that installs it, e.g. ``"dask"`` for ``hotspots[dask]``.
    feature : str
        What the user asked for, in words (``"hs.IncidentStore.to_dask"``).

    Returns
    -------
    types.ModuleType
        The imported module.

    Raises
    ------
    MissingExtraError
        When the module is not installed; the message names the pip command.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        raise MissingExtraError(
            f"{feature} needs {module.split('.')[0]}, which the base install leaves out; "
            f'install it with: pip install "hotspots[{extra}]"') from err
