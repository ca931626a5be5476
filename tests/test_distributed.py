"""Ward counts and KDE on dask-geopandas partitions equal the single-machine results."""

from __future__ import annotations

import dask_geopandas
import numpy as np
import pandas as pd
import pytest
from dask.distributed import Client, LocalCluster

import hotspots as hs
from hotspots.distributed import kde_dask, ward_counts_dask
from hotspots.grid import grid_of
from hotspots.store import IncidentStore

pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning")


@pytest.fixture(scope="module")
def client():
    """One local cluster for the module: two worker processes, as a real cluster has."""
    # process workers: every task and frame crosses a pickle boundary, as on a real cluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def harrow_wards():
    return hs.wards(borough="Harrow", year=2022)


@pytest.fixture(scope="module")
def store_ddf(tmp_path_factory, harrow):
    st = IncidentStore(tmp_path_factory.mktemp("dstore") / "s")
    st.append(harrow)
    return st.to_dask()


@pytest.fixture(scope="module")
def flytips():
    """Dated incidents (weekly counts need days)."""
    return hs.synthetic.fly_tips("Harrow", weeks=10, seed=3, n=3000)


def test_store_partitions_are_its_files(client, store_ddf):
    assert store_ddf.npartitions == 12
    assert isinstance(store_ddf, dask_geopandas.GeoDataFrame)


@pytest.mark.parametrize("freq,by", [("MS", "category"), (None, None), ("QS", "category")])
def test_ward_counts_same_as_single_machine(client, store_ddf, harrow, harrow_wards, freq, by):
    got = ward_counts_dask(store_ddf, harrow_wards, freq=freq, by=by)
    want = hs.ward_counts(hs.assign_wards(harrow, harrow_wards), freq=freq, by=by,
                          wards=harrow_wards)
    pd.testing.assert_frame_equal(got, want)
    assert got.attrs.pop("n_partitions") == 12
    assert got.attrs == want.attrs
    assert got["count"].sum() == want.attrs["n_counted"] > 14_000


def test_weekly_on_month_only_data_falls_back_the_same_way(client, store_ddf, harrow,
                                                          harrow_wards):
    with pytest.warns(UserWarning, match="month only"):
        got = ward_counts_dask(store_ddf, harrow_wards, freq="W-MON")
    with pytest.warns(UserWarning, match="month only"):
        want = hs.ward_counts(hs.assign_wards(harrow, harrow_wards), freq="W-MON",
                              wards=harrow_wards)
    pd.testing.assert_frame_equal(got, want)
    assert got.attrs["freq"] == "MS" and got.attrs["freq_asked"] == "W-MON"


def test_weekly_counts_of_dated_incidents(client, flytips, harrow_wards):
    ddf = dask_geopandas.from_geopandas(flytips, npartitions=5)
    got = ward_counts_dask(ddf, harrow_wards, freq="W-MON", tolerance=20)
    want = hs.ward_counts(hs.assign_wards(flytips, harrow_wards, tolerance=20), freq="W-MON",
                          wards=harrow_wards)
    pd.testing.assert_frame_equal(got, want)
    assert got["period"].nunique() >= 10 and got["count"].sum() == len(flytips)


@pytest.mark.parametrize("kernel,method", [("quartic", "fft"), ("gaussian", "fft"),
                                           ("quartic", "exact")])
def test_kde_same_as_single_machine(client, store_ddf, harrow, kernel, method):
    want = hs.kde(harrow, kernel=kernel, method=method, quiet=True)
    got = kde_dask(store_ddf, bandwidth=want.attrs["bandwidth"], grid=grid_of(want),
                   kernel=kernel, method=method)
    assert np.array_equal(got["count"], want["count"])  # every incident binned once
    assert got.attrs["n_points"] == want.attrs["n_points"] == len(harrow)
    peak = want["density"].max()
    # the same sums in another order: equal to floating-point rounding
    assert np.abs(got["density"] - want["density"]).max() <= 1e-12 * peak
    assert (got["density"] >= 0).all()
    pd.testing.assert_series_equal(got.geometry.bounds["minx"], want.geometry.bounds["minx"])


def test_kde_default_grid_covers_the_data(client, flytips):
    ddf = dask_geopandas.from_geopandas(flytips, npartitions=3)
    got = kde_dask(ddf, bandwidth=400, cell_size=100)
    want = hs.kde(flytips, cell_size=100, bandwidth=400, method="fft", quiet=True)
    assert grid_of(got) == grid_of(want)
    assert np.abs(got["density"] - want["density"]).max() <= 1e-12 * want["density"].max()


def test_clear_errors(client, store_ddf, harrow, harrow_wards):
    with pytest.raises(hs.BadInputError, match="fft"):
        kde_dask(store_ddf, bandwidth=500, method="auto")
    with pytest.raises(hs.BadInputError, match="bandwidth"):
        kde_dask(store_ddf, bandwidth=None)
    with pytest.raises(hs.BadInputError, match="dask-geopandas"):
        ward_counts_dask(pd.DataFrame({"a": [1]}), harrow_wards)
    # a plain GeoDataFrame is split for you
    got = ward_counts_dask(harrow, harrow_wards, freq=None)
    assert got["count"].sum() == len(harrow) - got.attrs["n_no_ward"]


def test_missing_extra_names_the_pip_extra(monkeypatch):
    """Without the dask extra, the feature says which extra to install (no bare ImportError)."""
    import sys

    import pytest

    from hotspots._optional import MissingExtraError

    # a None entry in sys.modules makes `import dask_geopandas` fail as if not installed
    monkeypatch.setitem(sys.modules, "dask_geopandas", None)
    with pytest.raises(MissingExtraError, match=r'pip install "hotspots\[dask\]"'):
        kde_dask(_one_point(), bandwidth=100)


def _one_point():
    import geopandas as gpd
    from shapely.geometry import Point

    return gpd.GeoDataFrame({"geometry": [Point(530000, 180000)]}, crs=27700)
