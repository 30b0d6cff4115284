"""Connected components by min-label propagation (tested against networkx on random graphs)."""

from __future__ import annotations

from transforms.database import Database
from transforms.sqltext import quote

MAX_ITERATIONS = 100


def initial_labels_sql(nodes: str) -> str:
    """Every node labelled with itself."""
    return f"select node, node as label from {quote(nodes)}"


def propagate_sql(labels: str, edges: str) -> str:
    """One step: each node takes the smallest label among its own and its neighbours' (edges are undirected)."""
    return f"""with candidates as (
    select node, label from {quote(labels)}
    union all select e.b, l.label from {quote(edges)} as e join {quote(labels)} as l on l.node = e.a
    union all select e.a, l.label from {quote(edges)} as e join {quote(labels)} as l on l.node = e.b
)
select node, min(label) as label from candidates group by node"""


def changed_sql(labels: str, previous: str) -> str:
    """How many nodes changed label between two steps."""
    return (f"select count(*) from {quote(labels)} as n join {quote(previous)} as o using (node) "
            "where n.label <> o.label")


def connected_components(db: Database, nodes: str, edges: str, out: str) -> int:
    """Connected components: `nodes(node)`, `edges(a, b)` -> table `out(node, label)`.

    Returns the number of iterations. Labels are the smallest node of each component.
    """
    nxt = f"{out}__next"
    db.run(f"clusters.{out} init", f"create or replace table {quote(out)} as {initial_labels_sql(nodes)}")
    for iteration in range(1, MAX_ITERATIONS + 1):
        db.run(f"clusters.{out} step", f"create or replace table {quote(nxt)} as {propagate_sql(out, edges)}")
        changed = db.scalar(f"clusters.{out} changed", changed_sql(nxt, out))
        db.run(f"clusters.{out} swap", f"create or replace table {quote(out)} as select * from {quote(nxt)}")
        db.run(f"clusters.{out} drop", f"drop table {quote(nxt)}")
        if changed == 0:
            return iteration
    raise RuntimeError(f"identity clustering did not converge in {MAX_ITERATIONS} iterations")  # pragma: no cover


def contracted_edges_sql(base: str, edges: str) -> str:
    """The edges between two components of `base(node, label)`, as edges between their labels."""
    return f"""select distinct la.label as a, lb.label as b
from {quote(edges)} as e
join {quote(base)} as la on la.node = e.a
join {quote(base)} as lb on lb.node = e.b
where la.label <> lb.label"""


def merge_components(db: Database, base: str, edges: str, out: str) -> int:
    """Connected components of `edges(a, b)` over the nodes of `base(node, label)`, a partition whose every
    part is already connected by `edges` (the deterministic clusters, whose links are among the final ones):
    each part is contracted to its label, so propagation runs over the parts and the edges between them, not
    over every record and link again. The table `out(node, label)` is the one `connected_components` makes
    (labels are the smallest node of each component, as each part's label is its smallest node).

    Returns the number of iterations."""
    db.run(f"clusters.{out} part nodes", f"create or replace table {quote(out + '__parts')} as "
           f"select distinct label as node from {quote(base)}")
    db.run(f"clusters.{out} part edges",
           f"create or replace table {quote(out + '__part_edges')} as {contracted_edges_sql(base, edges)}")
    iterations = connected_components(db, out + "__parts", out + "__part_edges", out + "__merged")
    db.run(f"clusters.{out}", f"""create or replace table {quote(out)} as
select b.node, m.label
from {quote(base)} as b
join {quote(out + '__merged')} as m on m.node = b.label""")
    for table in ("__parts", "__part_edges", "__merged"):
        db.run(f"clusters.{out} drop {table}", f"drop table {quote(out + table)}")
    return iterations
