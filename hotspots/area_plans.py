"""Action plans for hotspot areas: the top areas of one category, each with its menu.

:func:`flytip_top20` is the enforcement team's fly-tip pack as data (the areas, an
action menu per area from the incidents inside it, the period in words); the writer
is :func:`hotspots.report.write_flytip_pack`.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike

import geopandas as gpd
import pandas as pd

from ._errors import HotspotsError
from ._time import incident_times
from ._validate import check_gdf
from .focus import action_menu, load_actions


@dataclass
class AreaPlans:
    """Top areas with an action menu each (:func:`flytip_top20`).

    Attributes
    ----------
    areas : geopandas.GeoDataFrame
        Ranked areas (:func:`hotspots.top_areas`).
    menus : dict
        Area rank -> its action menu (:func:`action_menu` of the incidents inside it).
    incidents : geopandas.GeoDataFrame
        The incidents the areas were drawn from.
    period : str
        The dates covered, in words ("03 Jan 2022 to 01 Jan 2023").
    synthetic : bool
        Whether the incidents are SYNTHETIC (packs say so).
    """

    areas: gpd.GeoDataFrame
    menus: dict
    incidents: gpd.GeoDataFrame
    period: str
    synthetic: bool = False


def area_menus(areas: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame,
               actions: pd.DataFrame | str | PathLike | None = None) -> dict:
    """Each area's action menu from the incidents inside it: ``{rank: menu}``.

    Parameters
    ----------
    areas : geopandas.GeoDataFrame
        Ranked areas (``rank``, geometry), e.g. :func:`hotspots.top_areas`.
    incidents : geopandas.GeoDataFrame
        The incidents (``category``; ``subcategory`` and ``location_desc`` when known).
    actions : DataFrame or CSV path, optional
        The menu table (:func:`load_actions`); default the shipped one.
    """
    acts = load_actions(actions)
    inc = check_gdf(incidents, "incidents", ["category"])
    areas = check_gdf(areas, "areas", ["rank"])
    cols = ["category", "subcategory", "location_desc", "geometry"]
    pts = inc[cols] if set(cols) <= set(inc.columns) else inc
    return {a.rank: action_menu(pts[pts.within(a.geometry)], acts) for a in areas.itertuples()}


def flytip_top20(
    inc: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    *,
    n: int = 20,
    start: str | None = None,
    end: str | None = None,
    actions: pd.DataFrame | str | PathLike | None = None,
    network: object = None,
    synthetic: bool = False,
) -> AreaPlans:
    """A borough's top fly-tip areas, each with its action menu (the enforcement pack).

    Parameters
    ----------
    inc : geopandas.GeoDataFrame
        Incidents; only ``fly_tip`` ones are used.
    wards : geopandas.GeoDataFrame
        The borough's wards (areas are named by them).
    n : int, default 20
        How many areas.
    start, end : str, optional
        First and last day of the period (inclusive; `end` defaults to `start`);
        default every date.
    actions : DataFrame or CSV path, optional
        The menu table (:func:`load_actions`); default the shipped one.
    network : networkx graph, optional
        Street network: areas are named by their streets.
    synthetic : bool, default False
        Say the data are SYNTHETIC even when no row's ``source`` says so.

    Returns
    -------
    AreaPlans
        ``areas``, ``menus`` (rank -> menu), ``incidents`` (the fly-tips), ``period``
        (in words) and ``synthetic``; :func:`hotspots.report.write_flytip_pack`
        writes it.
    """
    from ._time import parse_time
    from .rank import top_areas

    inc = check_gdf(inc, "incidents", ["category"])
    ft = inc[inc["category"] == "fly_tip"]
    if len(ft) == 0:
        raise HotspotsError("no fly-tips (category fly_tip) in the incidents")
    period = (start, end or start) if start else None
    areas = top_areas(ft, n=n, categories="fly_tip", period=period, wards=wards,
                      network=network)
    t = incident_times(ft)
    span = (f"{parse_time(start, 'start'):%d %b %Y} to {parse_time(end or start, 'end'):%d %b %Y}"
            if start else f"{t.min():%d %b %Y} to {t.max():%d %b %Y}")
    return AreaPlans(areas=areas, menus=area_menus(areas, ft, actions), incidents=ft,
                     period=span,
                     synthetic=synthetic or "synthetic" in set(ft.get("source", [])))


__all__ = ["AreaPlans", "area_menus", "flytip_top20"]
