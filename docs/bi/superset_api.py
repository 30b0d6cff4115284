"""Superset's REST API, driven as a user would: log in, add the silobridge warehouse as a database, run a SQL
Lab query, then make two datasets, two charts and a dashboard over the catalog's views; prints the
dashboard's URL. Run by docs/bi/superset.sh with the Superset venv's Python (it has requests).

    superset_api.py BASE_URL WAREHOUSE_DIR
"""

from __future__ import annotations

import json
import sys

import requests


class Superset:
    """A logged-in session of Superset's REST API (bearer token + CSRF token, as the API requires)."""

    def __init__(self, base: str, user: str, password: str) -> None:
        self.base = base
        self.http = requests.Session()
        token = self.call("POST", "/api/v1/security/login",
                          {"username": user, "password": password, "provider": "db", "refresh": True})
        self.http.headers["Authorization"] = f"Bearer {token['access_token']}"
        self.http.headers["X-CSRFToken"] = self.call("GET", "/api/v1/security/csrf_token/")["result"]
        self.http.headers["Referer"] = base

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        """One API call; returns the JSON answer, or stops naming the call and Superset's message."""
        answer = self.http.request(method, self.base + path, json=body, timeout=120)
        if not answer.ok:
            sys.exit(f"superset: {method} {path} -> {answer.status_code}: {answer.text[:2000]}")
        return answer.json()


def first_id(api: Superset, path: str, column: str, value: str) -> int | None:
    """The id of the first object at `path` whose `column` equals `value`, or None."""
    q = f"(filters:!((col:{column},opr:eq,value:'{value}')))"
    found = api.call("GET", f"{path}?q={q}")["result"]
    return found[0]["id"] if found else None


def chart_cell(chart_id: int, name: str, width: int) -> dict:
    return {"type": "CHART", "id": f"CHART-{chart_id}", "children": [],
            "parents": ["ROOT_ID", "GRID_ID", "ROW-1"],
            "meta": {"chartId": chart_id, "width": width, "height": 60, "sliceName": name}}


def main(base: str, warehouse: str) -> None:
    api = Superset(base, "admin", "admin")

    # The catalog opened read-only (the pipeline is its only writer); file_search_path is where the views'
    # relative Parquet paths resolve: the warehouse directory, wherever it was copied or mounted.
    uri = f"duckdb:///{warehouse}/warehouse.duckdb?access_mode=read_only&file_search_path={warehouse}"
    database = api.call("POST", "/api/v1/database/", {
        "database_name": "silobridge", "sqlalchemy_uri": uri, "expose_in_sqllab": True})["id"]

    revenue_sql = ("select channel, count(distinct order_id) as orders, sum(line_amount) as revenue\n"
                   "from fct_orders where is_sale group by channel order by revenue desc")
    result = api.call("POST", "/api/v1/sqllab/execute/", {
        "database_id": database, "sql": revenue_sql, "runAsync": False, "schema": "main"})
    print("SQL Lab:", revenue_sql.replace("\n", " "), file=sys.stderr)
    for row in result["data"]:
        print("   ", json.dumps(row), file=sys.stderr)

    datasets = {table: api.call("POST", "/api/v1/dataset/", {
        "database": database, "schema": "main", "table_name": table})["id"]
        for table in ("fct_orders", "dim_customers")}

    dashboard = api.call("POST", "/api/v1/dashboard/", {
        "dashboard_title": "silobridge: revenue and customers", "published": True})["id"]
    revenue = {"expressionType": "SQL", "sqlExpression": "sum(line_amount)", "label": "revenue"}
    sales_only = {"expressionType": "SQL", "sqlExpression": "is_sale", "clause": "WHERE"}
    customers = {"expressionType": "SQL", "sqlExpression": "count(*)", "label": "customers"}
    charts = [
        ("Revenue by channel (sales only)", datasets["fct_orders"], "echarts_timeseries_bar",
         {"x_axis": "channel", "metrics": [revenue], "groupby": [], "adhoc_filters": [sales_only],
          "row_limit": 100, "x_axis_sort": "revenue", "x_axis_sort_asc": False, "show_value": True,
          "y_axis_format": ",.0f"}),
        ("Customers by number of systems", datasets["dim_customers"], "pie",
         {"groupby": ["system_count"], "metric": customers, "adhoc_filters": [], "row_limit": 100,
          "show_labels": True, "label_type": "key_value", "number_format": ",d"}),
    ]
    cells = {}
    for name, dataset_id, viz, params in charts:
        params = {"datasource": f"{dataset_id}__table", "viz_type": viz, **params}
        chart = api.call("POST", "/api/v1/chart/", {
            "slice_name": name, "viz_type": viz, "datasource_id": dataset_id, "datasource_type": "table",
            "params": json.dumps(params), "dashboards": [dashboard]})["id"]
        cells[f"CHART-{chart}"] = chart_cell(chart, name, 6)
    layout = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": ["ROW-1"], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": "silobridge: revenue and customers"}},
        "ROW-1": {"type": "ROW", "id": "ROW-1", "children": list(cells), "parents": ["ROOT_ID", "GRID_ID"],
                  "meta": {"background": "BACKGROUND_TRANSPARENT"}},
        **cells,
    }
    api.call("PUT", f"/api/v1/dashboard/{dashboard}", {"position_json": json.dumps(layout)})

    # Last (while Public had no rights, every call above ran as the logged-in admin): anonymous visitors get
    # Gamma's rights (view dashboards and charts) plus read access to these two datasets, so that headless
    # Chromium can take the screenshot without a login. A throwaway instance on 127.0.0.1 only.
    public = first_id(api, "/api/v1/security/roles/", "name", "Public")
    gamma = first_id(api, "/api/v1/security/roles/", "name", "Gamma")
    ids = {p["id"] for p in api.call("GET", f"/api/v1/security/roles/{gamma}/permissions/")["result"]}
    for table, dataset_id in datasets.items():
        view_menu = first_id(api, "/api/v1/security/resources/", "name", f"[silobridge].[{table}](id:{dataset_id})")
        q = f"(filters:!((col:view_menu,opr:rel_o_m,value:{view_menu})),page_size:100)"
        ids |= {p["id"] for p in api.call("GET", f"/api/v1/security/permissions-resources/?q={q}")["result"]}
    api.call("POST", f"/api/v1/security/roles/{public}/permissions", {"permission_view_menu_ids": sorted(ids)})
    print(f"{base}/superset/dashboard/{dashboard}/?standalone=1")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
