"""Connected components (scipy, over nodes numbered in the database; tested against networkx on random graphs)."""

from __future__ import annotations

from transforms.database import Database
from transforms.sqltext import quote


def connected_components(db: Database, nodes: str, edges: str, out: str) -> int:
    """Connected components: `nodes(node)` (integers), `edges(a, b)` between them -> table `out(node, label)`, each
    node labelled by the smallest node of its component. Returns the number of components.

    The nodes are numbered 0..n-1 in the database (edges joined to their numbers there), and scipy's
    `connected_components` (one breadth-first pass over the edges, in C) finds the components; the labels go
    back as one table. Was min-label propagation in SQL: one join of every edge per step, as many steps as the
    widest component is long (4 at 1M customers, where the deterministic clusters took 48 s of the identity
    step, the joins spilling to disk; ~1 s now)."""
    import numpy as np
    import pyarrow as pa
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components as components

    numbered = f"{out}__numbered"
    db.run(f"clusters.{out} numbered", f"create or replace table {quote(numbered)} as "
           f"select node, row_number() over (order by node) - 1 as i from {quote(nodes)}")
    node = db.arrow(f"clusters.{out} nodes", f"select node from {quote(numbered)} order by i").column(0).to_numpy()
    pairs = db.arrow(f"clusters.{out} edges", f"select na.i as a, nb.i as b from {quote(edges)} as e "
                     f"join {quote(numbered)} as na on na.node = e.a join {quote(numbered)} as nb on nb.node = e.b")
    n = len(node)
    graph = csr_matrix((np.ones(pairs.num_rows, dtype=np.int8),
                        (pairs.column("a").to_numpy(), pairs.column("b").to_numpy())), shape=(n, n))
    count, component = components(graph, directed=False)
    smallest = np.full(count, n, dtype=np.int64)
    np.minimum.at(smallest, component, np.arange(n))  # nodes are in ascending order: the first is the smallest
    db.register(f"{out}__labels", pa.table({"node": node, "label": node[smallest[component]]}))
    db.run(f"clusters.{out}", f"create or replace table {quote(out)} as select node, label from {quote(out + '__labels')}")
    db.run(f"clusters.{out} drop numbered", f"drop table {quote(numbered)}")
    # the registered Arrow table would otherwise stay referenced by the connection until the step ends
    db.run(f"clusters.{out} drop labels", f"drop view {quote(out + '__labels')}")
    return int(count)


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

    Returns the number of components."""
    db.run(f"clusters.{out} part nodes", f"create or replace table {quote(out + '__parts')} as "
           f"select distinct label as node from {quote(base)}")
    db.run(f"clusters.{out} part edges",
           f"create or replace table {quote(out + '__part_edges')} as {contracted_edges_sql(base, edges)}")
    count = connected_components(db, out + "__parts", out + "__part_edges", out + "__merged")
    db.run(f"clusters.{out}", f"""create or replace table {quote(out)} as
select b.node, m.label
from {quote(base)} as b
join {quote(out + '__merged')} as m on m.node = b.label""")
    for table in ("__parts", "__part_edges", "__merged"):
        db.run(f"clusters.{out} drop {table}", f"drop table {quote(out + table)}")
    return count
