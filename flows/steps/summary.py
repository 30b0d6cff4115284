"""Human summaries of a run: one line per step for the console and logs, the Markdown artifact, the headline
and identity-score text, the failing rules."""

from __future__ import annotations

from flows.report.charts import format_value
from flows.steps.results import HeadlineLine, RunSummary


def failing_rules(summary: RunSummary) -> list[tuple[str, str, str, int]]:
    """(source, rule, severity, rows) of every rule that failed in this run, most rows first."""
    out = [(name, rule, v.get("rule_severity", {}).get(rule, ""), n)
           for name, v in summary.get("validate", {}).items() for rule, n in v.get("rules", {}).items()]
    return sorted(out, key=lambda r: (-r[3], r[0], r[1]))


def headline_text(line: HeadlineLine) -> tuple[str, str]:
    """(overall, notable) of a headline line as short strings for the console and the artifact."""
    o = line["overall"]
    unit = line.get("unit", "share")
    overall = ""
    if o is not None and o["value"] is not None:
        counts = (f"{o['numerator']:,.0f} of {o['denominator']:,.0f}" if unit == "share"
                  else f"{o['numerator']:,.1f} / {o['denominator']:,.0f}")
        overall = f"{format_value(o['value'], unit)} ({counts}{', any day of the window' if o['window'] else ''})"
    notable = ", ".join(f"{n['dimension']} {format_value(n['value'], unit, precise=False)}"
                        for n in line["notable"] if n["value"] is not None)
    if o is not None and o.get("detail"):
        notable = ", ".join(x for x in (o["detail"], notable) if x)
    return overall, notable


def describe(stage: str, result: dict) -> str:
    """A short human summary of a step's counts."""
    if stage == "extract":
        rows = sum(v["rows"] for v in result.values())
        files = sum(v["files"] for v in result.values())
        aside = sum(v["files_set_aside"] for v in result.values())
        notes = [f"{k}: {n}" for k, v in sorted(result.items()) for n in v.get("notes", [])]
        unmapped = [f"{k} {v['unmapped']}" for k, v in sorted(result.items()) if v.get("unmapped")]
        left = [f"{k} {v['not_kept']}" for k, v in sorted(result.items()) if v.get("not_kept")]
        return (f"{len(result)} sources, {files} files, {rows:,} rows" + (f", {aside} files set aside" if aside else "")
                + (f"; unmapped columns (kept in attributes): {'; '.join(unmapped)}" if unmapped else "")
                + (f"; unmapped columns not kept (attributes: lists others): {'; '.join(left)}" if left else "")
                + "".join(f"; NOTE: {n}" for n in notes))
    if stage == "validate":
        acc = sum(v["accepted"] for v in result.values())
        q = sum(v["quarantined"] for v in result.values())
        held = [k for k, v in result.items() if v["status"] == "held_back"]
        filtered = [f"{k} {v['filtered']:,} by {v['filter']!r}" for k, v in sorted(result.items()) if v.get("filtered")]
        merged = [f"{k} {v['merged']:,}" + (f" (differing: {', '.join(f'{f} {n}' for f, n in v['merge_conflicts'].items())})"
                                             if v.get("merge_conflicts") else "")
                  for k, v in sorted(result.items()) if v.get("merged")]
        return (f"{acc:,} rows accepted, {q:,} quarantined" + (f", held back: {held}" if held else "")
                + (f", filtered: {', '.join(filtered)}" if filtered else "")
                + (f", merged: {', '.join(merged)}" if merged else ""))
    if stage == "stage":
        return f"{len(result)} staged sources, {sum(result.values()):,} rows"
    if stage == "identity":
        ch = result.get("changes") or {}
        return (f"{result['identity_records']:,} identity records -> {result['customers']:,} customers "
                f"({result['deterministic_links']:,} deterministic + {result['probabilistic_links']:,} probabilistic "
                f"links, {result['guards_fired']} key values guarded; ids: {ch.get('new', 0):,} new, "
                f"{ch.get('merged', 0)} merged, {ch.get('split', 0)} split, {ch.get('moved', 0)} moved, "
                f"{ch.get('unchanged', 0):,} unchanged)"
                + (f"; {clerical_text(result['clerical'])}" if (result.get("clerical") or {}).get("labelled_pairs") else "")
                + (f"; model of {result['model']['trained_run_date']} reused" if (result.get("model") or {}).get("reused")
                   else "")
                + "".join(f"; WARNING: {w}" for w in result.get("warnings", [])))
    if stage == "model":
        return ", ".join(f"{k} {v:,}" for k, v in result.items())
    if stage == "metrics":
        return f"{result['rows']:,} metric rows"
    if stage == "publish":
        return f"published {result['version']}"
    return str(result)


def clerical_text(c: dict) -> str:
    """The clerical review's labels applied, and the estimate they give of the model's precision and recall."""
    tp, fp, fn = c["true_positives"], c["false_positives"], c["false_negatives"]
    precision = f"{tp / (tp + fp):.4f}" if tp + fp else "n/a"
    recall = f"{tp / (tp + fn):.4f}" if tp + fn else "n/a"
    return (f"clerical review: {c['labelled_pairs']} labelled pairs applied ({c['must_links']} match, "
            f"{c['cannot_links']} non-match, {c['links_cut']} links cut); model on them: precision {precision}, "
            f"recall {recall}")


def evaluation_text(scores: dict) -> str:
    """One line of identity scores per scope (pairwise precision / recall, B-cubed F1)."""
    return "; ".join(
        f"{scope}: precision {s['precision']:.4f}, recall {s['recall']:.4f}, B-cubed F1 {s['bcubed_f1']:.4f} "
        f"({s['records']:,} records)" for scope, s in scores["scopes"].items())


def summary_markdown(summary: RunSummary) -> str:
    """The run summary published as a Prefect artifact (counts only, no personal data)."""
    lines = [f"# silobridge run {summary['run_id']} (as of {summary['run_date']})", "",
             "| source | status | rows in | accepted | quarantined | held back |", "|---|---|---|---|---|---|"]
    for name, v in sorted(summary.get("validate", {}).items()):
        lines.append(f"| {name} | {v['status']} | {v['rows_in']} | {v['accepted']} | {v['quarantined']} | {v['held_back']} |")
    filtered = [(name, v) for name, v in sorted(summary.get("validate", {}).items()) if v.get("filtered")]
    if filtered:
        lines += ["", "Filtered rows (excluded by the source's filter, counted, not lost):", "",
                  "| source | filtered | filter |", "|---|---|---|"]
        lines += [f"| {name} | {v['filtered']} | `{v['filter'].replace('|', chr(92) + '|')}` |" for name, v in filtered]
    merged = [(name, v) for name, v in sorted(summary.get("validate", {}).items()) if v.get("merged")]
    if merged:
        lines += ["", "Merged rows (an entity repeated on several rows, kept once; table merged_rows):", "",
                  "| source | merged | fields with differing values (rows) |", "|---|---|---|"]
        lines += [f"| {name} | {v['merged']} | {', '.join(f'{f} {n}' for f, n in v.get('merge_conflicts', {}).items())} |"
                  for name, v in merged]
    unmapped = [(name, v.get("unmapped", []), v.get("not_kept", [])) for name, v in sorted(summary.get("extract", {}).items())
                if v.get("unmapped") or v.get("not_kept")]
    if unmapped:
        lines += ["", "Unmapped columns (names only):", "",
                  "| source | kept in `attributes` (values masked) | not kept (the source's `attributes:` lists others) |",
                  "|---|---|---|"]
        lines += [f"| {name} | {', '.join(kept).replace('|', chr(92) + '|')} | {', '.join(left).replace('|', chr(92) + '|')} |"
                  for name, kept, left in unmapped]
    failing = failing_rules(summary)
    if failing:
        lines += ["", "Failing rules:", "", "| source | rule | severity | rows |", "|---|---|---|---|"]
        lines += [f"| {s} | {r} | {sev} | {n} |" for s, r, sev, n in failing]
    stale = [f"{k} ({v['freshness']['lag_days']} days)" for k, v in sorted(summary.get("validate", {}).items())
             if (v.get("freshness") or {}).get("stale")]
    if stale:
        lines += ["", f"Stale sources: {', '.join(stale)}"]
    ident = summary.get("identity", {})
    lines += ["", f"Identity records: {ident.get('identity_records')}, customers: {ident.get('customers')}",
              *([f"Identity vs ground truth: {evaluation_text(ident['evaluation'])}"] if ident.get("evaluation") else []),
              *([f"Identity, {clerical_text(ident['clerical'])}"] if (ident.get("clerical") or {}).get("labelled_pairs") else []),
              *(["", "Identity warnings:", "", *(f"- {w}" for w in ident["warnings"])] if ident.get("warnings") else []),
              "",
              "| family | metric | overall | notable |", "|---|---|---|---|"]
    for line in summary.get("metrics", {}).get("headline", []):
        overall, notable = headline_text(line)
        lines.append(f"| {line['family']} | {line['metric']} | {overall} | {notable} |")
    lines += ["", f"Published: {summary.get('publish', {}).get('version')}",
              f"Report: {summary.get('publish', {}).get('report')}",
              f"Data Docs: {summary.get('publish', {}).get('data_docs')}"]
    return "\n".join(lines)
