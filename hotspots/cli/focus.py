"""Enforcement-team commands: `focus-week`, `flytip-top20`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from .._errors import HotspotsError
from ._common import (
    _AREA_COLUMNS,
    _JSON_OPTION,
    _QUIET_OPTION,
    _network_key,
    _print_json,
    _read_source,
    _source_of,
    _steps,
    _street_network,
    _wards_key,
    console,
    friendly,
    map_options,
)
from ._options import reading_options


def _focus_inputs(borough: str, incidents: str | None, year: int,
                  read_opts: dict[str, Any] | None = None):
    """Wards and incidents for the focus commands; the synthetic sample when no file."""
    import hotspots as hs

    wards = hs.wards(borough=borough, year=year)
    if incidents:
        return wards, _read_source(incidents, **(read_opts or {})), False
    inc, note = hs.synthetic.sample_fly_tips(borough, year=year)
    console.print(f"[bold yellow]no --incidents: {escape(note)}[/]", markup=True)
    return wards, inc, True


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    out = {}
    for v in values or []:
        ward, _, reason = v.partition("=")
        if not ward.strip():
            raise HotspotsError(f"--{what} needs 'Ward name=reason', got {v!r}")
        out[ward.strip()] = reason.strip()
    return out


@friendly
@map_options
@reading_options
def focus_week_cmd(
    borough: str = typer.Option("Harrow", help="London borough (name or E09 code)."),
    week: str = typer.Option("2022-02-07", help="Monday the focus week starts (or 2022-W06); "
                             "another day means its week's Monday (noted)."),
    incidents: str | None = typer.Option(None, help="Incident file or registry key; default "
                                         "the SYNTHETIC Harrow sample."),
    year: int = typer.Option(2022, help="Ward boundary year."),
    teams: bool = typer.Option(False, "--teams", help="One focus ward per area team "
                               "(Harrow's East/West/Central, hs.area_teams; other "
                               "boroughs: --teams-csv)."),
    teams_csv: Path | None = typer.Option(None, help="Your own ward -> team CSV "
                                          "(ward_name or ward_code, team); unknown wards "
                                          "and wards without a team are noted."),
    history: Path | None = typer.Option(None, help="Focus-ward history CSV (week, ward, team, "
                                        "reason): read for the rotation, then this week's "
                                        "rows added (a re-run week's rows replaced)."),
    record: bool = typer.Option(True, help="Append this week's choice to --history."),
    actions: Path | None = typer.Option(None, help="Actions log CSV (week, ward, measure, "
                                        "value) for last week's results."),
    menu: Path | None = typer.Option(None, help="Your own actions menu CSV (default: the "
                                     "shipped data/actions.csv)."),
    lookback_weeks: int = typer.Option(4, help="Weeks scored before the focus week."),
    exclude_recent: int = typer.Option(4, help="Weeks before a ward can be chosen again."),
    force: list[str] | None = typer.Option(None, help='Choose by hand: "Ward=reason" '
                                           "(repeatable)."),
    exclude: list[str] | None = typer.Option(None, help='Exclude by hand: "Ward=reason" '
                                             "(repeatable)."),
    network: str | None = typer.Option(None, help="Street network (OSM XML/GraphML path or "
                                       "registry key, e.g. osm_city_of_london): areas "
                                       "are named by their streets."),
    out: Path = typer.Option(Path("out"), help="Output folder; a focus-week-YYYY-Www "
                             "folder is made inside."),
    json_out: bool = _JSON_OPTION,
    quiet: bool = _QUIET_OPTION,
    read_opts: dict[str, Any] | None = None,
    map_opts: dict[str, Any] | None = None,
) -> None:
    """Prepare the weekly tasking meeting: ranking, focus ward(s), menu, maps, summary.

    Example: hotspots focus-week --borough Harrow --week 2022-02-07 --teams --out out
    """
    import warnings

    import pandas as pd

    import hotspots as hs

    from .._atomic import atomic_dir
    from ..report import why_ward, write_focus_week
    from ..review import actions_review

    mopts = map_opts or {}
    with _steps() as step, step("reading incidents and wards"):
        wards, inc, synthetic = _focus_inputs(borough, incidents, year, read_opts)
        G = _street_network(network) if network else None
    with _steps() as step, step(f"scoring wards for {week}"), \
            warnings.catch_warnings(record=True) as caught:  # e.g. unknown wards in --history
        warnings.simplefilter("always", UserWarning)
        fw = hs.focus_week(inc, wards, week=week,
                           teams=teams_csv if teams_csv else (teams or None),
                           history=history, lookback_weeks=lookback_weeks,
                           exclude_recent=exclude_recent, force=_pairs(force, "force"),
                           exclude=_pairs(exclude, "exclude"), actions=menu, network=G)
    for w in caught:
        console.print(f"[yellow]warning:[/] {escape(str(w.message))}", highlight=False,
                      markup=True)
    sunday = fw.week + pd.Timedelta(days=6)
    console.print(f"week {fw.iso_week}: Monday {fw.week:%-d %B %Y} to Sunday "
                  f"{sunday:%-d %B %Y} (--week {week})", highlight=False)
    final = out / f"focus-week-{fw.iso_week}"
    # the whole folder at once: a killed run leaves last complete pack or none, never a mix
    credit = _source_of(incidents or [], inc, *_wards_key(year), *_network_key(network))
    review = None
    if actions is not None:
        review = actions_review(actions, fw.week, ward=None, wards=wards)
        rej = review.attrs["rejected"]
        if rej:  # left out of last week's totals: say which rows and why
            console.print(f"note: {len(rej)} row(s) of the actions log {actions} rejected and "
                          "left out (listed in the summary's notes):", highlight=False)
            for x in rej[:10]:
                console.print(f"  row {x['row']}: {x['reason']}", highlight=False)
            if len(rej) > 10:
                console.print(f"  ... and {len(rej) - 10} more", highlight=False)
        if review.attrs["other_measures"]:
            console.print("note: actions log measures that are not the team's measures (shown "
                          f"as logged): {', '.join(review.attrs['other_measures'])}",
                          highlight=False)
    # the whole folder at once: a killed run leaves last complete pack or none, never a mix
    with atomic_dir(final) as tmp:
        written = write_focus_week(fw, tmp, wards, review=review, borough=borough,
                                   source=credit, network=G, **mopts)
    d = final
    maps = {w: d / p.name for w, p in written.pop("maps").items()}
    paths = {k: d / v.name for k, v in written.items()}
    if history is not None and record and fw.chosen:
        fw.append_history(history, source=credit)
        n_old = fw.attrs.get("history_replaced", 0)
        console.print(f"history: replaced {n_old} row(s) of week {fw.iso_week} with "
                      f"{len(fw.chosen)} in {history}" if n_old else
                      f"history: appended {len(fw.chosen)} row(s) to {history}", highlight=False)
    for n in fw.notes:
        console.print(f"note: {n}", highlight=False)
    for w in fw.chosen:  # the summary's sentence: counts and reasons, no bare score
        reason = why_ward(fw, w)
        console.print(f"[bold]{escape(str(w))}[/]: {escape(str(reason))}", highlight=False,
                      markup=True)
    console.print(f"written to {d}/ (summary: {paths['html'].name}, {paths['md'].name})",
                  highlight=False)
    if json_out:
        chosen = fw.ranking[fw.ranking["ward_name"].isin(fw.chosen)]
        _print_json({
            "borough": borough, "week": fw.iso_week, "synthetic": synthetic,
            "n_incidents": len(inc), "folder": str(d),
            "chosen": chosen[["ward_name", "ward_code", "team", "score", "n_incidents",
                              "choice_reason"]],
            "maps": {w: str(p) for w, p in maps.items()},
            "files": {k: str(paths[k]) for k in ("md", "html", "ranking", "menu")},
            "history": str(history) if history is not None else None,
            "notes": list(fw.notes)})


@friendly
@map_options
@reading_options
def flytip_top20_cmd(
    borough: str = typer.Option("Harrow", help="London borough (name or E09 code)."),
    incidents: str | None = typer.Option(None, help="Incident file or registry key; default "
                                         "the SYNTHETIC Harrow sample."),
    year: int = typer.Option(2022, help="Ward boundary year."),
    start: str | None = typer.Option(None, help="First day of the period (default: all)."),
    end: str | None = typer.Option(None, help="Last day of the period (inclusive)."),
    n: int = typer.Option(20, help="How many areas."),
    menu: Path | None = typer.Option(None, help="Your own actions menu CSV."),
    network: str | None = typer.Option(None, help="Street network (OSM XML/GraphML path or "
                                       "registry key, e.g. osm_city_of_london): areas "
                                       "are named by their streets."),
    out: Path = typer.Option(Path("out"), help="Output folder; flytip-top20/ is made inside."),
    json_out: bool = _JSON_OPTION,
    quiet: bool = _QUIET_OPTION,
    read_opts: dict[str, Any] | None = None,
    map_opts: dict[str, Any] | None = None,
) -> None:
    """The borough's top fly-tip areas, an action-plan sheet for each, and the map.

    Example: hotspots flytip-top20 --borough Harrow --out out
    """
    from .._atomic import atomic_dir
    from ..area_plans import flytip_top20
    from ..report import write_flytip_pack

    mopts = map_opts or {}
    wards, inc, synthetic = _focus_inputs(borough, incidents, year, read_opts)
    with _steps() as step, step(f"top {n} fly-tip areas"):
        G = _street_network(network) if network else None
        plans = flytip_top20(inc, wards, n=n, start=start, end=end, actions=menu, network=G,
                             synthetic=synthetic)
    ft, areas = plans.incidents, plans.areas
    credit = _source_of(incidents or [], ft, *_wards_key(year), *_network_key(network))
    d = out / "flytip-top20"
    with atomic_dir(d) as tmp:  # the whole folder at once (see focus-week)
        files = write_flytip_pack(plans, tmp, wards, borough=borough, source=credit,
                                  network=G, **mopts)
    console.print(f"{len(areas)} areas, {files['n_action_rows']} action rows; written to "
                  f"{d}/", highlight=False)
    if json_out:
        _print_json({
            "borough": borough, "synthetic": synthetic, "n_fly_tips": len(ft),
            "period": plans.period, "n_requested": n, "folder": str(d),
            "files": {"areas": str(d / "areas.csv"), "action_plans": str(d / "action-plans.csv"),
                      "map": str(d / "map.html")},
            "n_action_rows": files["n_action_rows"],
            "areas": areas[[c for c in _AREA_COLUMNS if c in areas.columns]]})
