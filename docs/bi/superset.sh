#!/usr/bin/env bash
# Apache Superset reading a silobridge warehouse, end to end, on this machine and offline:
#   installs Superset in its own venv (never the project's), copies the warehouse to another directory
#   (a moved warehouse must open as it is), starts Superset on 127.0.0.1, then through its REST API creates
#   the database, runs a SQL Lab query, creates a chart and a dashboard, screenshots the dashboard in
#   headless Chromium, and stops Superset.
#
#   docs/bi/superset.sh [WAREHOUSE_DIR]      (default data/warehouse, after `make run`)
#
# Settings (environment): BI_VENV (default ../bi-venv, beside the repo), PORT (8088), OUT (docs/bi/superset.png),
# WORK (a fresh temporary directory: Superset's metadata, the warehouse copy, logs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
warehouse="$(cd "${1:-$repo/data/warehouse}" && pwd)"
BI_VENV="${BI_VENV:-$(dirname "$repo")/bi-venv}"
PORT="${PORT:-8088}"
OUT="${OUT:-$here/superset.png}"
WORK="${WORK:-$(mktemp -d)}"
PYTHON="${PYTHON:-python3.11}"
step() { echo "==> $(date +%H:%M:%S) $*"; }

test -e "$warehouse/warehouse.duckdb" || { echo "no warehouse at $warehouse (run \`make run\` first)"; exit 1; }

if [ ! -x "$BI_VENV/bin/superset" ]; then
  step "installing Apache Superset 6.1.0 + duckdb-engine in $BI_VENV (its own venv; ~1 min, ~760 MB)"
  "$PYTHON" -m venv "$BI_VENV"
  "$BI_VENV/bin/python" -m pip install --disable-pip-version-check -q uv==0.13.8
  # Resolved as of Superset 6.1.0's release (Flask-Caching 2.5.1, released after it, stops it starting), except
  # duckdb: the version that wrote the catalog. Superset 6.1.0 imports cachetools without requiring it.
  "$BI_VENV/bin/uv" pip install -q --python "$BI_VENV/bin/python" \
    --exclude-newer 2026-06-01 --exclude-newer-package duckdb=2026-12-01 \
    apache-superset==6.1.0 duckdb-engine==0.17.0 duckdb==2.0.0 cachetools==6.2.1
fi

step "copying the warehouse to $WORK/warehouse (moved: its catalog must open from there)"
rm -rf "$WORK/warehouse" && cp -a "$warehouse" "$WORK/warehouse"
rm -f "$WORK/warehouse/.lock"

export SUPERSET_CONFIG_PATH="$WORK/superset_config.py"
export SUPERSET_HOME="$WORK/superset_home"
if [ ! -e "$WORK/superset.db" ]; then  # a WORK kept from an earlier try skips this (minutes on a busy machine)
  cat > "$SUPERSET_CONFIG_PATH" <<PY
SECRET_KEY = "$(head -c 32 /dev/urandom | base64)"
SQLALCHEMY_DATABASE_URI = "sqlite:///$WORK/superset.db"
# The roles API: superset_api.py lets anonymous visitors of this throwaway instance view the dashboard.
FAB_ADD_SECURITY_API = True
PY
  step "initialising Superset's metadata (sqlite in $WORK)"
  { "$BI_VENV/bin/superset" db upgrade && "$BI_VENV/bin/superset" fab create-admin --username admin --firstname Ada --lastname Admin \
    --email admin@example.invalid --password admin && "$BI_VENV/bin/superset" init; } > "$WORK/init.log" 2>&1 || { tail -n 30 "$WORK/init.log"; rm -f "$WORK/superset.db"; exit 1; }
fi

step "starting Superset on 127.0.0.1:$PORT (log: $WORK/superset.log)"
"$BI_VENV/bin/superset" run -h 127.0.0.1 -p "$PORT" --with-threads > "$WORK/superset.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 600); do  # up to 10 minutes: Superset starts in ~1 min on an idle machine, 3+ on a busy one
  curl -fsS "http://127.0.0.1:$PORT/health" > /dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { tail -n 30 "$WORK/superset.log"; exit 1; }
  sleep 1
done
curl -fsS "http://127.0.0.1:$PORT/health" > /dev/null || { echo "Superset did not answer (log: $WORK/superset.log)"; exit 1; }

step "REST API: database, SQL Lab query, dataset, chart, dashboard"
dashboard_url="$("$BI_VENV/bin/python" "$here/superset_api.py" "http://127.0.0.1:$PORT" "$WORK/warehouse")"

step "screenshot of $dashboard_url in headless Chromium -> $OUT"
chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$(mktemp -d)" \
  --window-size=1280,720 --virtual-time-budget=30000 --screenshot="$OUT" "$dashboard_url" 2> "$WORK/chromium.log"

step "stopping Superset"
