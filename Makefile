# Two commands a newcomer needs: `make demo` and `make test`.
# Both create .venv when missing and install the project with its test extras.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out

.PHONY: demo test lint bench bench-readme backtest browser assets clean sample-data notebooks screenshots

$(STAMP): pyproject.toml package.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,dask]"
	$(MAKE) assets
	touch $(STAMP)

# Leaflet and plugins for offline maps come from the npm registry, never from the repo.
assets:
	@if command -v npm >/dev/null 2>&1; then \
		npm install --silent --no-audit --no-fund --prefix . >/dev/null; \
	else echo "npm not found: offline maps will fall back to CDN links"; fi

# Debian's chromium for the browser tests (never `playwright install`).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v /usr/bin/chromium >/dev/null 2>&1 || \
		( (apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1)) \
		  || echo "could not install chromium: browser tests will fail" )

demo: $(STAMP)
	$(BIN)/hotspots demo --out $(OUT)

test: $(STAMP) browser
	HOTSPOTS_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .

# BENCH_ARGS=--quick: N <= 100k, the small real files and the London cases
# includes bench_london (the real London 2022 file, CSV to a saved map, vs the plain
# read + sjoin) and bench_scale (a year of all-London data, stage times + peak memory).
# Every row goes to $(OUT)/bench.json; `make bench-readme` writes the README's speed
# table from it.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS) --json $(OUT)/bench.json

bench-readme:
	$(BIN)/python benchmarks/readme_table.py $(OUT)/bench.json

# the README's method tables: Barnet burglary (last 36 months as folds, 100 m cells; the
# top twenty on the last 6) and the City of London 2019 (every month after the first,
# 50 m cells, all methods)
backtest: $(STAMP)
	$(BIN)/hotspots backtest --months 36
	$(BIN)/hotspots backtest --months 6 --methods forecast,top20
	$(BIN)/hotspots backtest --incidents city_of_london_2019 --bounds "City of London" \
		--cell-size 50 --methods forecast,counts,decayed,blend,stkde,near_repeat,kde,gistar,dbscan,hdbscan,top20

# the notebooks are committed without outputs; this runs them and writes executed
# copies (maps, tables) to $(OUT)/notebooks/
notebooks: $(STAMP)
	$(BIN)/python tests/test_notebooks.py $(OUT)/notebooks

# the README's map and briefing pictures, taken by the browser tests, into docs/img/
screenshots: $(STAMP) browser
	HOTSPOTS_UPDATE_DOCS_IMG=1 $(BIN)/python -m pytest -q -p no:cacheprovider \
		tests/test_maps.py -k readme_screenshots

sample-data: $(STAMP)
	$(BIN)/hotspots synthetic --borough Harrow --out sample_data

clean:
	rm -rf $(VENV) node_modules $(OUT)
