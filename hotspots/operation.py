"""Did an operation work: before/after counts around an operation's area.

Counts in the operation's area, a buffer ring and a comparison area, with Wheeler &
Ratcliffe's weighted displacement difference (:func:`wdd`) and Bowers & Johnson's
weighted displacement quotient (:func:`operation_effect` → :class:`OperationEffect`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import stats as sps

from ._errors import BadInputError
from ._time import nearest_month_start, parse_time
from ._validate import BNG, check_gdf, check_nonempty, check_positive
from .change import area_of_points, data_span, days_between, incident_times_of

__all__ = ["DEFAULT_BUFFER", "OperationEffect", "operation_effect", "wdd"]

log = logging.getLogger("hotspots")

#: Default ring around an operation's area where crime may be displaced to, metres.
DEFAULT_BUFFER = 250.0


# --------------------------------------------------------------------------- operations
def wdd(
    treated: tuple[float, float],
    control: tuple[float, float],
    displaced: tuple[float, float] = (0, 0),
    displaced_control: tuple[float, float] = (0, 0),
    time_weight: float = 1.0,
) -> dict[str, float]:
    """Weighted displacement difference test (Wheeler & Ratcliffe 2018, Crime Science 7:7).

    Each argument is ``(before, after)`` counts. WDD = ΔT − ΔC + ΔD − ΔCd with
    Δ = after − w·before, where w = `time_weight` (length of the after period over
    the before period; 1 when equally long). Under Poisson counts
    Var(WDD) = Σ after + w² Σ before, z = WDD/√Var, p two-sided normal. Missing
    displacement areas count as (0, 0), as in Wheeler's ``ptools.wdd``.

    Returns
    -------
    dict
        ``local`` (ΔT − ΔC), ``displacement`` (ΔD − ΔCd), ``wdd``, ``se``, ``z``, ``p``.
    """
    w = float(time_weight)
    t0, t1 = (float(v) for v in treated)
    c0, c1 = (float(v) for v in control)
    d0, d1 = (float(v) for v in displaced)
    e0, e1 = (float(v) for v in displaced_control)
    local = (t1 - w * t0) - (c1 - w * c0)
    disp = (d1 - w * d0) - (e1 - w * e0)
    est = local + disp
    var = (t1 + c1 + d1 + e1) + w * w * (t0 + c0 + d0 + e0)
    se = math.sqrt(var)
    z = est / se if se > 0 else 0.0
    return {"local": local, "displacement": disp, "wdd": est, "se": se, "z": z,
            "p": float(2 * sps.norm.sf(abs(z)))}


def _pct(before: float, after: float) -> float:
    return 100.0 * (after - before) / before if before > 0 else float("nan")


@dataclass(frozen=True)
class OperationEffect:
    """Result of :func:`operation_effect`: counts, % changes, WDD and WDQ.

    ``counts`` has one row per zone (``target``, ``buffer``, ``control``) with
    ``before, after, change, change_pct``; ``sentence`` reads it out in plain English.
    """

    counts: pd.DataFrame
    wdd: float
    se: float
    z: float
    p: float
    local: float
    displacement: float
    wdq: float
    before: tuple[str, str]
    during: tuple[str, str]
    buffer_m: float
    control_desc: str
    zones: gpd.GeoDataFrame = None  # type: ignore[assignment]

    @property
    def sentence(self) -> str:
        """One plain-English summary for a briefing."""
        c = self.counts["change_pct"]
        n = self.counts[["before", "after"]].astype(int)

        def pct(zone: str) -> str:
            v = c[zone]
            if not np.isfinite(v):
                return f"went from {n.loc[zone, 'before']} to {n.loc[zone, 'after']}"
            word = "fell" if v < 0 else "rose" if v > 0 else "did not change"
            amount = f" {abs(v):.0f}%" if v else ""
            return f"{word}{amount} ({n.loc[zone, 'before']} to {n.loc[zone, 'after']})"

        verdict = (
            "a real change relative to the comparison area (p = {:.3f})"
            if self.p < 0.05 else "within what chance alone could produce (p = {:.2f})"
        ).format(self.p)
        direction = "fewer" if self.wdd < 0 else "more"
        disp = (
            "crime in the buffer moved against the comparison area's trend, so some "
            "displacement is possible"
            if self.displacement > 0
            else "there is no sign of crime being pushed into the surrounding "
            f"{self.buffer_m:.0f} m"
        )
        return (
            f"In the operation area incidents {pct('target')} between "
            f"{self.before[0]}–{self.before[1]} and {self.during[0]}–{self.during[1]}; in the "
            f"comparison area ({self.control_desc}) they {pct('control')}. Taking the "
            f"comparison area and the {self.buffer_m:.0f} m buffer into account, that is "
            f"{abs(self.wdd):.0f} {direction} incidents than expected (weighted displacement "
            f"difference), {verdict}; {disp}."
        )

    def to_frame(self) -> pd.DataFrame:
        """The counts table with the test results as ``attrs``."""
        out = self.counts.copy()
        out.attrs.update(wdd=self.wdd, se=self.se, z=self.z, p=self.p, wdq=self.wdq)
        return out


def _one_geometry(obj: Any, name: str) -> shapely.Geometry:
    if isinstance(obj, gpd.GeoDataFrame | gpd.GeoSeries):
        if obj.crs is None:
            raise BadInputError(f"{name} has no CRS; set one (e.g. .set_crs(27700))")
        geom = obj.to_crs(BNG).geometry.union_all()
    elif isinstance(obj, shapely.Geometry):
        geom = obj  # a bare shapely geometry is taken to be in BNG metres
    else:
        raise BadInputError(
            f"{name} must be a polygon or a GeoDataFrame (got {type(obj).__name__})"
        )
    if geom is None or geom.is_empty or geom.area <= 0:
        raise BadInputError(f"{name} must be a polygon with an area")
    return geom


def operation_effect(
    inc: gpd.GeoDataFrame,
    area: Any,
    start: Any,
    end: Any,
    *,
    control: Any = None,
    buffer: float | None = None,
    before: Any = None,
) -> OperationEffect:
    """Did an operation reduce crime in its area, and was crime pushed next door.

    Compares incidents before and during the operation in three zones: the
    **target** area, a **buffer** ring around it (where crime could be displaced to)
    and a **control** area (what would have happened anyway). The weighted
    displacement difference (:func:`wdd`, Wheeler & Ratcliffe 2018) tests target and
    buffer together against the control; the weighted displacement quotient
    (Bowers & Johnson 2003) says whether the buffer gained (< 0: displacement) or
    also fell (> 0: diffusion of benefits) relative to the target's gain.

    Parameters
    ----------
    inc : GeoDataFrame
        Incidents with ``occurred_at`` and/or ``month``.
    area : polygon or GeoDataFrame
        The operation's area (a bare shapely polygon is read as BNG metres).
    start, end : date
        The operation's period: from `start` up to (not including) `end`.
    control : polygon or GeoDataFrame, optional
        Comparison area. Default: the rest of the 2022 ward(s) the area lies in,
        outside the target and buffer.
    buffer : float, optional
        Width of the displacement ring, metres; default 250 m.
    before : (start, end) dates, optional
        The comparison period; default the same length immediately before `start`.
        A period of different length is weighted by the ratio of the lengths.

    Returns
    -------
    OperationEffect
        ``counts`` (target/buffer/control × before/after/change/change_pct), ``wdd,
        se, z, p, local, displacement, wdq``, the periods, ``zones`` (the three
        polygons, map-ready with a ``label`` column) and ``sentence``.
    """
    inc = check_nonempty(check_gdf(inc, "incidents"), "incidents")
    target = _one_geometry(area, "area")
    start, end = parse_time(start, "start"), parse_time(end, "end")
    if not start < end:
        raise BadInputError(
            f"the operation must end after it starts ({start.date()}, {end.date()})"
        )
    if before is None:
        b0, b1 = start - (end - start), start
        log.info("operation_effect: before period %s to %s (same length)", b0.date(), b1.date())
    else:
        try:
            b0, b1 = (parse_time(v, "before") for v in before)
        except (TypeError, ValueError):
            raise BadInputError("before must be a (start, end) pair of dates") from None
        if not b0 < b1 <= start:
            raise BadInputError("the before period must end by the time the operation starts")
    width = DEFAULT_BUFFER if buffer is None else check_positive(buffer, "buffer")
    ring = target.buffer(width).difference(target)
    if control is None:
        from .boundaries import wards

        w = wards()
        w = w[w.intersects(target)]
        if len(w) == 0:
            raise BadInputError("the area lies in no London ward: pass a control polygon")
        ctrl = w.geometry.union_all().difference(target.buffer(width))
        control_desc = "rest of " + ", ".join(sorted(w["ward_name"].astype(str)))
        log.info("operation_effect: control area = %s; buffer %g m", control_desc, width)
    else:
        ctrl = _one_geometry(control, "control").difference(target.buffer(width))
        control_desc = "the given control area"
    if ctrl.is_empty or ctrl.area <= 0:
        raise BadInputError("the control area is empty once the target and buffer are removed")
    t, monthly = incident_times_of(inc)
    if monthly:
        start, end = nearest_month_start(start, "start"), nearest_month_start(end, "end")
        b0, b1 = nearest_month_start(b0, "before start"), nearest_month_start(b1, "before end")
        if not (start < end and b0 < b1):
            raise BadInputError("with month-only data the periods must span at least one month")
    # a period outside the data would read as "no crime then", e.g. "0 to 63"
    d0, d1 = data_span(t, monthly=monthly)
    # dated data may just have had a quiet last day, so only months are held to the end
    if b0 < d0 or start >= d1 or (monthly and end > d1):
        raise BadInputError(
            f"the periods compared ({b0.date()} to {end.date()}) must lie inside the data "
            f"({d0.date()} to {d1.date()}): pass a later start, an earlier end or `before`"
        )
    zones = gpd.GeoDataFrame(
        {"zone": ["target", "buffer", "control"]}, geometry=[target, ring, ctrl], crs=BNG
    )
    pos = area_of_points(inc, zones)
    tv = t.to_numpy()
    in_before = (tv >= np.datetime64(b0)) & (tv < np.datetime64(b1))
    in_during = (tv >= np.datetime64(start)) & (tv < np.datetime64(end))
    n0 = np.bincount(pos[in_before & (pos >= 0)], minlength=3).astype(float)
    n1 = np.bincount(pos[in_during & (pos >= 0)], minlength=3).astype(float)
    counts = pd.DataFrame({"before": n0, "after": n1}, index=pd.Index(zones["zone"], name="zone"))
    counts["change"] = counts["after"] - counts["before"]
    counts["change_pct"] = [_pct(a, b) for a, b in zip(n0, n1, strict=True)]
    weight = days_between(start, end) / days_between(b0, b1)
    res = wdd(treated=(n0[0], n1[0]), control=(n0[2], n1[2]), displaced=(n0[1], n1[1]),
              time_weight=weight)
    # WDQ: buffer's change relative to control over the target's change relative to control
    with np.errstate(divide="ignore", invalid="ignore"):
        if n0[2] > 0 and n1[2] > 0:
            d_target = n1[0] / n1[2] - n0[0] / n0[2]
            d_buffer = n1[1] / n1[2] - n0[1] / n0[2]
            wdq = float(d_buffer / d_target) if d_target != 0 else float("nan")
        else:
            wdq = float("nan")
    zones["before"], zones["after"] = n0, n1
    zones["label"] = ["operation area", f"{width:.0f} m buffer", "comparison area"]
    return OperationEffect(
        counts=counts, wdd=res["wdd"], se=res["se"], z=res["z"], p=res["p"],
        local=res["local"], displacement=res["displacement"], wdq=wdq,
        before=(str(b0.date()), str(b1.date())), during=(str(start.date()), str(end.date())),
        buffer_m=float(width), control_desc=control_desc, zones=zones,
    )


