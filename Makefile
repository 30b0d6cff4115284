# The two commands: `make run` (set up + nightly run on the demo data) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-pyc-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
# The demo data is a fixed snapshot that ends on this night; `make run RUN_DATE=...` to change.
RUN_DATE  ?= 2026-11-20
CUSTOMERS ?= 2000
DAYS      ?= 30

export PREFECT_HOME ?= $(CURDIR)/.prefect
# Empty: Python caches the bytecode of what it imports (in the venv, on first use), even where the environment
# says not to. A run imports ~3,600 of the lock's ~10,700 modules: compiling those once on the first run costs
# ~16 CPU s, where compiling all of them at install took 75 s of wall time on 2 cores.
export PYTHONDONTWRITEBYTECODE =

.PHONY: install spark chromium demo-data run test serve deploy worker bench bench-metrics report-screenshot lock clean

UV_VERSION := 0.13.8
# uv's binary is kept per user, beside pip's and uv's own caches: a fresh clone reuses it (bootstrapping it with
# pip took 4.4 CPU s, more than installing the whole lock with uv).
UV_HOME    := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/silobridge/uv-$(UV_VERSION)
PIPLOG     := $(VENV)/pip-install.log
# Installs the lock with uv (bootstrapped by pip, pinned; ~10x faster than pip on 2 cores); pip stays the
# fallback when uv cannot be had. One line per phase, so a slow machine is visibly busy, not hung.
# The venv is made without pip (ensurepip took 9-14 s); the fallback adds it. No --compile-bytecode: see
# PYTHONDONTWRITEBYTECODE above. The project builds with uv_build, which uv runs in-process (setuptools' editable
# build took 4-16 s).
$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "silobridge needs Python 3.11; found " + sys.version.split()[0] + " (make PYTHON=python3.11 ...)")'
	@echo "==> [1/3] creating $(VENV) ($$($(PYTHON) --version))"
	@test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV)
	@: > $(PIPLOG)
	@if [ -x $(UV_HOME)/bin/uv ]; then echo "==> [2/3] uv $(UV_VERSION): $(UV_HOME)"; else \
	  echo "==> [2/3] bootstrapping uv $(UV_VERSION) with pip into $(UV_HOME)"; \
	  mkdir -p $(dir $(UV_HOME)) && tmp=$(UV_HOME).$$$$ \
	  && $(PYTHON) -m pip install --disable-pip-version-check -q --target $$tmp uv==$(UV_VERSION) >> $(PIPLOG) 2>&1 \
	  && { mv -T $$tmp $(UV_HOME) 2> /dev/null || rm -rf $$tmp; } \
	  || { rm -rf $$tmp; echo "    uv unavailable (see $(PIPLOG)); falling back to pip"; }; \
	fi
	@if [ -x $(UV_HOME)/bin/uv ]; then ln -sfn $(UV_HOME)/bin/uv $(BIN)/uv; fi
	@echo "==> [3/3] installing $$(grep -c '==' requirements.lock) pinned packages from requirements.lock"
	@if [ -x $(BIN)/uv ]; then \
	  $(BIN)/uv pip install --python $(BIN)/python -r requirements.lock >> $(PIPLOG) 2>&1 \
	  && $(BIN)/uv pip install --python $(BIN)/python --no-deps -e . >> $(PIPLOG) 2>&1; \
	else \
	  { $(BIN)/python -m pip --version > /dev/null 2>&1 || $(BIN)/python -m ensurepip; } >> $(PIPLOG) 2>&1 \
	  && $(BIN)/python -m pip install --disable-pip-version-check -r requirements.lock >> $(PIPLOG) 2>&1 \
	  && $(BIN)/python -m pip install --disable-pip-version-check --no-deps -e . >> $(PIPLOG) 2>&1; \
	fi || { tail -n 30 $(PIPLOG); echo "install failed; full log: $(PIPLOG)"; exit 1; }
	@rm -f $(VENV)/.installed-*
	@touch $@
	@echo "==> ready: $(VENV) ($$(du -sm $(VENV) | cut -f1) MB)"

install: $(STAMP)

demo-data: install
	@$(BIN)/silobridge demo-data --customers $(CUSTOMERS) --days $(DAYS) --if-missing

run: demo-data
	@$(BIN)/silobridge run --run-date $(RUN_DATE)

test: install chromium spark
	@$(BIN)/lint-imports --no-cache > /dev/null && echo "import contracts: kept" || { $(BIN)/lint-imports --no-cache; exit 1; }
	@$(BIN)/python -m pytest -m "(server or not server) and not spark" -n 2 --dist loadfile
	@echo "==> Spark parity tests (one Spark local[2] session per module)"
	@$(BIN)/python -m pytest -m spark

# engine: spark and the parity tests: the optional `spark` group (requirements-spark.lock, ~900 MB with its jars)
# installed with uv when pyspark or rapidfuzz is missing, and a Java 17+ runtime (Debian's, installed here when missing, as root).
# pyspark is published as a source archive only, and uv builds it anew at every install, keeping each build in its
# cache (1.4 GB each: 50 GB of them here, a full disk): its cache entry is dropped once installed (the
# venv keeps its own files; the next install builds it again, as it did anyway, 25 s).
spark: install
	@$(BIN)/python -c 'import pyspark, rapidfuzz' 2>/dev/null || { \
	  echo "==> installing pyspark and rapidfuzz from requirements-spark.lock (~900 MB, once)"; \
	  if [ -x $(BIN)/uv ]; then $(BIN)/uv pip install --python $(BIN)/python -r requirements-spark.lock >> $(PIPLOG) 2>&1 \
	    && { $(BIN)/uv cache clean pyspark >> $(PIPLOG) 2>&1 || true; }; \
	  else $(BIN)/python -m pip install --disable-pip-version-check -r requirements-spark.lock >> $(PIPLOG) 2>&1; fi \
	  || { tail -n 30 $(PIPLOG); echo "pyspark install failed; full log: $(PIPLOG)"; exit 1; }; }
	@java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1; }; \
	if [ "$$(java_major || true)" -ge 17 ] 2>/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "==> installing a Java 17 runtime (apt-get) for Spark"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless) > .java-install.log 2>&1 \
	    || { tail -n 20 .java-install.log; echo "apt-get install openjdk-17-jre-headless failed"; exit 1; }; \
	else echo "Spark needs Java 17 or newer (found: $$(java -version 2>&1 | head -n 1 || echo none)): install a JDK/JRE 17+ and put java on PATH"; exit 1; fi

# The report test renders in headless Chromium (Debian's package); installed here when missing (as root).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "==> installing chromium (apt-get) for the report rendering test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) > .chromium-install.log 2>&1 \
	      || { tail -n 20 .chromium-install.log; echo "apt-get install chromium failed"; exit 1; }; \
	  else echo "chromium is missing: install Debian's chromium package (the report test needs it)"; fi; }

# Re-take the README's screenshot of the report (after `make run`).
report-screenshot: chromium
	@$(BIN)/silobridge report --out $(CURDIR)/data/reports/screenshot.html
	@chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
	  --disable-component-update --disable-sync --hide-scrollbars --user-data-dir=$$(mktemp -d) \
	  --window-size=1280,2300 --screenshot=$(CURDIR)/docs/report.png file://$(CURDIR)/data/reports/screenshot.html 2>/dev/null

# One machine: this process registers the deployment and runs it (starts a local Prefect server if needed).
serve: demo-data
	@$(BIN)/silobridge serve

# Production: register prefect.yaml's deployment (process work pool, nightly schedule) on the Prefect server
# at PREFECT_API_URL (default http://127.0.0.1:4200/api), then keep `make worker` running.
deploy: install
	@$(BIN)/silobridge deploy

worker: install
	@$(BIN)/silobridge worker

# `make bench BENCH_CUSTOMERS=100000`: the night's steps and the floor (DuckDB exports -> Parquet) on the same files.
BENCH_CUSTOMERS ?= 20000
BENCH_DAYS      ?= 30
bench: install
	@$(BIN)/python tests/benchmarks/bench_pipeline.py --customers $(BENCH_CUSTOMERS) --days $(BENCH_DAYS)

bench-metrics: install
	@$(BIN)/python tests/benchmarks/bench_metrics.py

# Re-resolve the pins after changing dependencies in pyproject.toml.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/python -m pip install --quiet -e '.[test]'
	.lockenv/bin/python -m pip freeze --exclude-editable | grep -v '^silobridge' > requirements.lock
	rm -rf .lockenv

clean:
	rm -rf data/warehouse data/work data/state
