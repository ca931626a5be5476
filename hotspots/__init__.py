"""hotspots: find where community-safety problems concentrate in London.

The public API, re-exported lazily from the modules that define it (nothing is
defined here), so ``import hotspots as hs`` stays fast and a notebook only pays for
what it uses::

    import hotspots as hs
    wards = hs.wards(borough="Harrow", year=2022)
    inc = hs.assign_wards(hs.read_incidents(path), wards)
    hs.ward_counts(inc, freq="W-MON")
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_API: dict[str, str] = {
    # errors
    "HotspotsError": "_errors",
    "DataNotFoundError": "_errors",
    "BadInputError": "_errors",
    "UnknownPlaceError": "_errors",
    # data registry
    "list_datasets": "datasets",
    "dataset_path": "datasets",
    "attribution": "datasets",
    # reading
    "read_incidents": "io",
    "ReadReport": "io",
    "validate": "validation",
    "ValidationReport": "validation",
    "CATEGORIES": "categories",
    "categorise": "categories",
    "unrecognised_categories": "categories",
    # incident store and the distributed path
    "IncidentStore": "store",
    "ward_counts_dask": "distributed",
    "kde_dask": "distributed",
    # boundaries and joins
    "wards": "boundaries",
    "boroughs": "boundaries",
    "area_teams": "boundaries",
    "ward_population": "boundaries",
    "stations": "boundaries",
    "station_entries": "boundaries",
    "describe_location": "boundaries",
    "fixmystreet_counts": "fixmystreet",
    "assign_wards": "join",
    "within_wards": "join",
    "borough_incidents": "join",
    "WARD_TOLERANCE_M": "join",
    "ward_counts": "join",
    # grid and analysis
    "make_grid": "grid",
    "kde": "density",
    "dbscan": "clusters",
    "hdbscan": "clusters",
    "cluster_areas": "clusters",
    "gistar": "stats",
    "top_areas": "rank",
    "harm_weights": "rank",
    "pai": "evaluate",
    "rri": "evaluate",
    "backtest": "evaluate",
    # change over time
    "hotspot_change": "change",
    "classify_hotspots": "classify",
    "operation_effect": "operation",
    "dual_kde": "density",
    "trend_table": "change",
    "mann_kendall": "classify",
    "wdd": "operation",
    "OperationEffect": "operation",
    # decisions
    "focus_week": "focus",
    "action_menu": "focus",
    "actions_review": "review",
    "load_actions": "focus",
    "FocusWeek": "focus",
    "flytip_top20": "area_plans",
    "area_menus": "area_plans",
    "AreaPlans": "area_plans",
    "street_network": "network",
    "patrol_targets": "targets",
    "plan_patrol": "route",
    "patrol_areas": "targets",
    "PatrolPlan": "route",
    # rendering
    "hotspot_map": "maps",
    "focus_ward_map": "maps",
    "patrol_map": "maps",
    "save_map": "maps",
    "forecast": "forecasting",
    "plot_hotspots": "plots",
    "plot_change": "plots",
    "plot_place": "plots",
    "save_figure": "plots",
}

_SUBMODULES = {"synthetic", "datasets", "io", "grid", "report", "privacy", "forecasting"}

__all__ = sorted(_API) + sorted(_SUBMODULES)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'hotspots' has no attribute {name!r}")
    attr = "path" if name == "dataset_path" else name
    value = getattr(importlib.import_module(f".{module}", __name__), attr)
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return __all__
