"""Clerical review, fed back: a data steward's labels on record pairs become decisions applied on every run.

Input: `identity_review_labels(system_a, entity_a, record_id_a, system_b, entity_b, record_id_b, label)`, label
`match` or `non-match` (records named by their keys, which outlive the run's row ids).
- a **match** (must-link) adds a link `clerical` between the two records;
- a **non-match** (cannot-link) parts the two records even when a strong key or a chain of links joined them.
  The cut: the links of the cluster are taken strongest first (clerical, then strong keys, then the model's
  by match probability; ties by record ids) and each one is kept unless it would join two records labelled
  non-match (union-find, as Kruskal's algorithm builds a forest). The links left out are the cut
  (`int_identity__cut_links`): the weakest ones between the two sides.
The labelled pairs also estimate the model's precision and recall on the reviewed pairs, from its decisions
before any label was applied (`int_identity__label_checks`).

Only the clusters holding a non-match pair are cut, in Python: a handful of small graphs, where a
constrained union-find is a few lines and SQL would need a loop per edge.
"""

from __future__ import annotations

from transforms.database import Database
from transforms.identity.clusters import connected_components
from transforms.identity.tables import build

LABELS = ("match", "non-match")
LABEL_COLUMNS = ("system_a varchar, entity_a varchar, record_id_a varchar, system_b varchar, entity_b varchar, "
                 "record_id_b varchar, label varchar")
RULE_ORDER = {"clerical": 0, "deterministic": 1, "probabilistic": 2}


def ensure_labels_table(db: Database) -> None:
    """An empty identity_review_labels when the run has no labels (the path reads it either way)."""
    db.run("clerical.labels table", f"create table if not exists identity_review_labels ({LABEL_COLUMNS})")


def apply_labels(db: Database) -> dict:
    """Check the labels against the model's clusters (int_identity__clusters), then add the must-links to and cut
    the cannot-links out of int_identity__links. Returns the counts: labels applied, links cut, and the
    estimate's true/false positives and false negatives."""
    ensure_labels_table(db)
    build(db, "int_identity__labels")
    build(db, "int_identity__label_checks")
    tp, fp, fn, matches, non_matches = db.one("clerical.checks", """
        select count(*) filter (where label = 'match' and linked_by_model),
               count(*) filter (where label = 'non-match' and linked_by_model),
               count(*) filter (where label = 'match' and not linked_by_model),
               count(*) filter (where label = 'match'), count(*) filter (where label = 'non-match')
        from int_identity__label_checks""")
    db.run("clerical.must links", """
        insert into int_identity__links (rid_a, rid_b, link_rule, key_type, key_types, match_probability, evidence)
        select rid_a, rid_b, 'clerical' as link_rule, null as key_type, []::varchar[] as key_types,
               null::double as match_probability, 'labelled a match in clerical review' as evidence
        from int_identity__labels where label = 'match' order by rid_a, rid_b""")
    cut = cut_cannot_links(db)
    return {"labelled_pairs": int(matches + non_matches), "must_links": int(matches),
            "cannot_links": int(non_matches), "links_cut": cut,
            "true_positives": int(tp), "false_positives": int(fp), "false_negatives": int(fn)}


def cut_cannot_links(db: Database) -> int:
    """Remove from int_identity__links the weakest links that hold a non-match pair in one cluster (see the
    module docstring); they are kept in int_identity__cut_links. Returns how many links were cut."""
    db.run("clerical.cut table", "create or replace table int_identity__cut_links as "
                                 "select * from int_identity__links limit 0")
    if not db.scalar("clerical.any non-match", "select count(*) from int_identity__labels where label = 'non-match'"):
        return 0
    db.run("clerical.edges view", "create or replace view int_identity__labelled_edges as "
                                  "select rid_a as a, rid_b as b from int_identity__links")
    connected_components(db, "int_identity__nodes", "int_identity__labelled_edges", "int_identity__labelled_clusters")
    conflicts = db.rows("clerical.conflicts", """
        select l.rid_a, l.rid_b, a.label
        from int_identity__labels as l
        join int_identity__labelled_clusters as a on a.node = l.rid_a
        join int_identity__labelled_clusters as b on b.node = l.rid_b
        where l.label = 'non-match' and a.label = b.label""")
    if not conflicts:
        return 0
    clusters = sorted({c for _, _, c in conflicts})
    edges = db.rows("clerical.cluster links", """
        select e.rid_a, e.rid_b, e.link_rule, coalesce(e.match_probability, 1.0)
        from int_identity__links as e
        join int_identity__labelled_clusters as c on c.node = e.rid_a
        where list_contains($clusters, c.label)""", {"clusters": clusters})
    cut = constrained_forest_cut(edges, [(a, b) for a, b, _ in conflicts])
    db.run("clerical.cut links", "create or replace temp table int_identity__cut_pairs (rid_a bigint, rid_b bigint, "
                                 "link_rule varchar)")
    if cut:
        db.run_many("clerical.cut rows", "insert into int_identity__cut_pairs values (?, ?, ?)", cut)
    db.run("clerical.cut keep", """
        create or replace table int_identity__cut_links as
        select e.* from int_identity__links as e semi join int_identity__cut_pairs using (rid_a, rid_b, link_rule)""")
    db.run("clerical.cut remove", """
        create or replace table int_identity__links as
        select e.* from int_identity__links as e anti join int_identity__cut_pairs using (rid_a, rid_b, link_rule)""")
    return len(cut)


def constrained_forest_cut(edges: list[tuple], cannot: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """The links to cut so that no `cannot` pair stays connected: `edges` (a, b, rule, probability) taken
    strongest first (rule order clerical, deterministic, probabilistic; then probability; then record ids),
    each kept unless it would join two records of a `cannot` pair. Returns (a, b, rule) of the links left out."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    apart: dict[int, set[int]] = {}  # root -> roots it must never join
    for a, b in cannot:
        apart.setdefault(find(a), set()).add(find(b))
        apart.setdefault(find(b), set()).add(find(a))
    cut = []
    for a, b, rule, probability in sorted(edges, key=lambda e: (RULE_ORDER.get(e[2], 9), -e[3], e[0], e[1])):
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        if rb in apart.get(ra, ()):
            cut.append((a, b, rule))
            continue
        parent[rb] = ra  # merge rb into ra; ra inherits rb's constraints
        merged = apart.pop(rb, set())
        for other in merged:
            apart[other].discard(rb)
            apart[other].add(ra)
        apart.setdefault(ra, set()).update(merged)
    return cut


def clerical_metric_rows(counts: dict) -> list[tuple]:
    """Rows (family, metric, dimension, numerator, denominator, detail) of the estimate on the labelled pairs
    (dimension `clerical`): the model's precision and recall before the labels were applied. None without labels."""
    if not counts.get("labelled_pairs"):
        return []
    tp, fp, fn = counts["true_positives"], counts["false_positives"], counts["false_negatives"]
    detail = (f"{counts['labelled_pairs']} labelled pairs ({counts['must_links']} match, {counts['cannot_links']} "
              "non-match) of the review band: an estimate on reviewed pairs, not on all pairs")
    return [("identity", "pairwise_precision", "clerical", tp, tp + fp, detail),
            ("identity", "pairwise_recall", "clerical", tp, tp + fn, detail)]
