"""The street network patrols walk on: loading, caching and snapping to it.

:func:`street_network` loads a street graph (OSM XML, GraphML, a registry key, or a
place through osmnx when online), projects it to British National Grid and caches it.
The shipped OSM extracts hold drivable streets only, so walking is modelled on every
way present, in both directions; footpaths, alleys and parks' paths are missing and
real walks can be shorter (:data:`WALK_NOTE`, said by every output).
"""

from __future__ import annotations

import logging
import math
import pickle
from collections import Counter
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from . import datasets
from ._atomic import atomic_write_bytes
from ._errors import BadInputError, DataNotFoundError, HotspotsError
from ._validate import BNG

__all__ = [
    "SNAP_MAX_M",
    "WALK_NOTE",
    "street_network",
]

log = logging.getLogger("hotspots")


WALK_NOTE = (
    "Walking on all drivable ways present, in both directions; footpaths absent from "
    "this extract, so some real walks are shorter than shown."
)


#: A point farther than this from every network node is "off the network" (metres).
SNAP_MAX_M = 250.0


_GRAPHS: dict[tuple[str, bool], nx.MultiGraph] = {}


_CACHE_VERSION = 1  # bump when the built graph changes (attributes, projection)


def street_network(
    source: str | Path | Any, *, walk: bool = True, cache: bool = True
) -> nx.MultiGraph | nx.MultiDiGraph:
    """Load a street network projected to British National Grid (EPSG:27700).

    Parameters
    ----------
    source : str, Path or shapely Polygon
        A local OSM XML file (``.osm``/``.xml``, read with ``osmnx.graph_from_xml``),
        an osmnx GraphML file (``.graphml``), a dataset registry key
        (``"osm_city_of_london"``, ``"osm_westminster"``), or, when online, a place
        name (``"Soho, London"``) or a WGS84 polygon fetched through osmnx.
    walk : bool, default True
        Treat every way as walkable in both directions (an undirected graph). With
        False the graph stays directed and one-way streets are respected (driving).
    cache : bool, default True
        Reuse a graph already built from the same file (keyed by its sha256): in
        memory for this session and as a pickle in the user cache directory.

    Returns
    -------
    networkx.MultiGraph or MultiDiGraph
        Nodes carry ``x``, ``y`` in metres (EPSG:27700); edges carry ``length`` (m),
        ``name`` and ``geometry``. ``G.graph`` records ``source``, ``sha256``,
        ``walk`` and ``walk_note`` (the caveat about footpaths).

    Raises
    ------
    DataNotFoundError
        A file path or registry key that cannot be found.
    HotspotsError
        A place name while offline, or an extract that yields no streets.
    """
    import osmnx as ox

    path = _network_path(source)
    if path is None:  # a place name or polygon: needs the network
        return _network_online(source, walk=walk)
    digest = datasets.sha256_of(path)
    key = (digest, bool(walk))
    if cache and key in _GRAPHS:
        return _GRAPHS[key].copy()
    stem = f"{digest[:20]}_{int(walk)}_ox{ox.__version__}_v{_CACHE_VERSION}"
    pickle_path = datasets.cache_dir() / "networks" / f"{stem}.pickle"
    G = None
    if cache and pickle_path.is_file():
        try:
            G = pickle.loads(pickle_path.read_bytes())  # noqa: S301 (our own cache file)
        except Exception:  # a stale or broken cache file: rebuild it
            G = None
    if G is None:
        G = _build_network(path, walk=walk)
        G.graph.update(source=str(path), sha256=digest)
        if cache:
            try:
                atomic_write_bytes(pickle_path, pickle.dumps(G, protocol=pickle.HIGHEST_PROTOCOL))
            except OSError as exc:  # a read-only cache is not fatal
                log.info("could not cache the street network at %s: %s", pickle_path, exc)
        log.info(
            "street network %s: %d nodes, %d edges, EPSG:27700, walk=%s",
            path.name, G.number_of_nodes(), G.number_of_edges(), walk,
        )
    if cache:
        _GRAPHS[key] = G
    return G.copy()


def _network_path(source: Any) -> Path | None:
    """The local file `source` names, or None when it is a place name or polygon."""
    if not isinstance(source, str | Path):
        return None
    if isinstance(source, str) and source in datasets.registry():
        return datasets.path(source)
    p = Path(source).expanduser()
    if p.is_file():
        return p
    if p.suffix.lower() in {".osm", ".xml", ".graphml"} or isinstance(source, Path):
        raise DataNotFoundError(
            f"street network file {str(source)!r} was not found; give an OSM XML or GraphML "
            "path, or a registry key such as 'osm_city_of_london' (see `hotspots datasets`)"
        )
    return None


def _build_network(path: Path, *, walk: bool) -> nx.MultiGraph | nx.MultiDiGraph:
    import osmnx as ox

    suffix = path.suffix.lower()
    try:
        if suffix == ".graphml":
            G = ox.load_graphml(path)
        else:
            G = ox.graph_from_xml(path, retain_all=False)
    except Exception as exc:
        raise BadInputError(f"could not read a street network from {path.name}: {exc}") from exc
    return _finish_network(G, walk=walk)


def _finish_network(G: nx.MultiDiGraph, *, walk: bool) -> nx.MultiGraph | nx.MultiDiGraph:
    import osmnx as ox

    if G.number_of_nodes() == 0:
        raise HotspotsError("the street network is empty: the extract holds no streets")
    G = ox.project_graph(G, to_crs=BNG)
    if walk:
        G = ox.convert.to_undirected(G)
    G.graph["walk"] = bool(walk)
    G.graph["walk_note"] = WALK_NOTE if walk else "Driving network: one-way streets respected."
    return G


def _network_online(source: Any, *, walk: bool) -> nx.MultiGraph | nx.MultiDiGraph:
    import osmnx as ox

    try:
        if isinstance(source, str):
            G = ox.graph_from_place(source, network_type="walk" if walk else "drive")
        else:
            G = ox.graph_from_polygon(source, network_type="walk" if walk else "drive")
    except Exception as exc:  # offline, unknown place, Overpass down
        raise HotspotsError(
            f"could not fetch a street network for {source!r} through OpenStreetMap "
            f"({type(exc).__name__}: {exc}). Offline? Use a local extract instead, e.g. "
            "hs.street_network('osm_city_of_london')"
        ) from exc
    G = _finish_network(G, walk=walk)
    if walk:  # osmnx's walk network does include footpaths
        G.graph["walk_note"] = "Walking network from OpenStreetMap (footpaths included)."
    G.graph["source"] = str(source)
    return G


def _node_table(G: nx.Graph) -> tuple[np.ndarray, np.ndarray]:
    """Node ids and their (x, y) coordinates as arrays."""
    ids = np.array(list(G.nodes), dtype=object)
    xy = np.array([(d["x"], d["y"]) for _, d in G.nodes(data=True)], dtype=float)
    return ids, xy


def _check_network(G: Any) -> None:
    if not isinstance(G, nx.Graph) or G.number_of_nodes() == 0:
        raise BadInputError("network must be a street graph from hs.street_network")
    crs = G.graph.get("crs")
    epsg = None
    if crs is not None:
        from pyproj import CRS

        epsg = CRS.from_user_input(crs).to_epsg()
    if epsg != 27700:
        raise BadInputError(
            f"the street network is in {crs}, not EPSG:27700; load it with hs.street_network"
        )


def _street_at(G: nx.Graph, node: Any) -> str:
    """The street name(s) of the edges meeting at `node` ("A Street / B Lane")."""
    names: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for _, _, data in _incident_edges(G, node):
        for n in _as_list(data.get("name")):
            names[str(n)] += 1
        for h in _as_list(data.get("highway")):
            kinds[str(h)] += 1
    if names:
        return " / ".join(sorted(names, key=lambda s: (-names[s], s))[:2])
    return f"unnamed {kinds.most_common(1)[0][0]} road" if kinds else "unnamed road"


def _incident_edges(G: nx.Graph, node: Any):
    if G.is_directed():
        yield from G.in_edges(node, data=True)
        yield from G.out_edges(node, data=True)
    else:
        yield from G.edges(node, data=True)


def _text(v: Any) -> str:
    """Text for people: "" for None/NaN, lists joined with " / "."""
    return " / ".join(str(x) for x in _as_list(v))


def _as_list(v: Any) -> list:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return []
    return list(v) if isinstance(v, list | tuple | set) else [v]


def _snap(G: nx.Graph, xy: np.ndarray) -> tuple[list, np.ndarray]:
    """Nearest node (id) and distance (m) for each point."""
    from scipy.spatial import cKDTree

    ids, nxy = _node_table(G)
    d, j = cKDTree(nxy).query(np.atleast_2d(xy))
    return list(ids[j]), np.asarray(d, dtype=float)
