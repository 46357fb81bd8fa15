"""The report as one self-contained HTML page: inline CSS, inline SVG plots, a few lines of inline script."""

from __future__ import annotations

import html
import json
import re

from corpus.report import plots
from corpus.report.highlight import highlight_pattern

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f3b63;color:#fff;padding:14px 24px} header h1{margin:0;font-size:20px}
nav{padding:6px 24px;background:#e9eef5;position:sticky;top:0;z-index:1} nav a{margin-right:14px;color:#1f3b63}
section{background:#fff;margin:14px 24px;padding:12px 18px;border:1px solid #ddd;border-radius:6px}
h2{font-size:17px;margin:4px 0 10px} h3{font-size:14px;margin:12px 0 6px}
table{border-collapse:collapse;font-size:13px} td,th{border-bottom:1px solid #eee;padding:3px 10px;text-align:right}
td:first-child,th:first-child{text-align:left} .grid{display:flex;flex-wrap:wrap;gap:10px}
.grid>div{border:1px solid #eee;padding:4px} .pair{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.doc{white-space:pre-wrap;font-size:12px;background:#f6f6f6;border-left:3px solid #d8593b;padding:6px;max-height:260px;overflow:auto}
.doc.kept{border-color:#3b7dd8} mark{background:#ffd54a} .meta{color:#666;font-size:12px;word-break:break-all}
.na{color:#888;font-style:italic} svg{max-width:100%;height:auto}
"""

SCRIPT = """
document.addEventListener('DOMContentLoaded', function () {
  var sections = document.querySelectorAll('section[data-section]');
  var rendered = 0;
  sections.forEach(function (s) { if (s.querySelector('svg, table, .doc, .na')) { rendered += 1; } });
  document.body.dataset.sections = String(sections.length);
  document.body.dataset.rendered = String(rendered);
  var box = document.getElementById('reason-filter');
  if (box) {
    box.addEventListener('input', function () {
      var q = box.value.toLowerCase();
      document.querySelectorAll('.reason-block').forEach(function (b) {
        b.style.display = b.dataset.reason.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
      });
    });
  }
});
"""


def _e(x) -> str:
    return html.escape(str(x))


def _marked(text: str, pattern: str | None) -> str:
    if not pattern:
        return _e(text)
    out, last = [], 0
    for m in re.finditer(pattern, text):
        if m.end() == m.start():
            continue
        out += [_e(text[last : m.start()]), f"<mark>{_e(m.group(0))}</mark>"]
        last = m.end()
    return "".join(out) + _e(text[last:])


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(f'{c:,}' if isinstance(c, int) else c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _section(key: str, title: str, body: str) -> str:
    return f'<section id="{key}" data-section="{key}"><h2>{_e(title)}</h2>{body}</section>'


def _doc(d: dict, kind: str, reason: str | None = None) -> str:
    meta = f"{_e(d.get('url') or d.get('id'))} · lang {_e(d.get('lang'))}" + (f" · {d['chars']:,} characters" if d.get("chars") is not None else "")
    if d.get("signals"):
        meta += "<br>" + " · ".join(
            f"{_e(x['column'])} = {x['value']:g}" + (f" ({_e(', '.join(f'{k} {v:g}' for k, v in x['thresholds'].items()))})" if x["thresholds"] else "")
            for x in d["signals"])
    text = d.get("text") or (f"(extraction kept no text; the page's visible text:) {d['extract_visible']}" if d.get("extract_visible")
                             else "(no text: the record never reached extraction)")
    return f'<div><div class="meta">{meta}</div><div class="doc {kind}">{_marked(text, highlight_pattern(reason) if reason else None)}</div></div>'


def _summary(r: dict) -> str:
    t = r["totals"]
    return _table(["input records", "kept", "rejected", "quarantined", "kept %", "inputs", "wall s"],
                  [[t["input_records"], t["kept"], t["rejected"], t["quarantined"],
                    f"{100 * t['kept'] / max(1, t['input_records']):.1f}%", r["inputs"], r.get("wall_s")]]) + (
        f"<p>Failed shards (not counted above): {_e(', '.join(f['shard'] for f in r['failed_shards']))}</p>" if r["failed_shards"] else "")


def _funnel(r: dict) -> str:
    rows = [[s["name"], s["docs_in"], s["docs_out"], s["rejected"], s["errors"],
             f"{s['bytes_out'] / 1e6:,.2f}", f"{100 * s['docs_out'] / max(1, s['docs_in']):.1f}%", s["wall_s"]] for s in r["funnel"]]
    return plots.funnel(r["funnel"]) + _table(["stage", "in", "out", "rejected", "errors", "MB out", "retained", "wall s"], rows)


def _languages(r: dict) -> str:
    """Each stage's funnel and reasons per language, side by side: where zh and en pages part ways."""
    langs = r.get("languages_shown") or []
    if not langs:
        return '<p class="na">no per-language counts in this run</p>'
    head = ["stage"] + [f"{lang} {k}" for lang in langs for k in ("in", "out", "retained")]
    rows, reasons = [], []
    for s in r["by_lang"]:
        row = [s["name"]]
        for lang in langs:
            c = s["langs"].get(lang, {})
            n_in = sum(c.values())
            row += [n_in, c.get("out", 0), f"{100 * c.get('out', 0) / n_in:.1f}%" if n_in else "–"]
        rows.append(row)
        keys = sorted({k for c in s["langs"].values() for k in c if k.startswith("rejected:")})
        reasons += [[s["name"], k.removeprefix("rejected:")] + [s["langs"].get(lang, {}).get(k, 0) for lang in langs] for k in keys]
    body = _table(head, rows)
    if reasons:
        body += "<h3>Reasons per language (documents dropped)</h3>" + _table(["stage", "reason"] + langs, reasons)
    return body


def _anchor(stage: str, reason: str) -> str:
    return "s-" + re.sub(r"[^A-Za-z0-9_.-]", "_", f"{stage}--{reason}")


def _reasons(r: dict) -> str:
    body = "".join(f"<h3>{_e(stage)}</h3>{plots.reasons(stage, counts, lambda reason, st=stage: _anchor(st, reason))}"
                   for stage, counts in r["reasons"].items())
    edits = [[s["name"], k, v] for s in r["funnel"] for k, v in s["edits"].items() if v]
    if edits:
        body += "<h3>Edits inside kept documents</h3>" + _table(["stage", "edit", "count"], edits)
    return body or '<p class="na">nothing was dropped</p>'


def _signals(r: dict) -> str:
    grid = "".join(f"<div>{plots.histogram(d)}<div class='meta'>{_e(d['stage'])}: kept median "
                   f"{d['kept']['quantiles'][2] if d['kept']['quantiles'] else '–'}; sampled {d['sampled']['kept']:,} kept, "
                   f"{d['sampled']['rejected']:,} rejected</div></div>" for d in r["distributions"] if d["histogram"])
    return f'<div class="grid">{grid}</div>' if grid else '<p class="na">no signal columns in this run</p>'


def _mix(r: dict) -> str:
    mix, body = r["mix"], ""
    if mix["languages"]:
        body += "<h3>Languages (kept documents)</h3>" + plots.bars(mix["languages"], "kept documents")
        body += plots.bars({k: v / 1e6 for k, v in mix["chars_by_language"].items()}, "kept characters (millions)")
    if mix.get("domain_tags"):
        body += "<h3>Domain tags (kept documents): what a mixing step can up-sample</h3>" + plots.bars(mix["domain_tags"], "kept documents")
    if mix["domains"]:
        body += "<h3>Top domains (kept documents)</h3>" + plots.bars(mix["domains"], "kept documents")
    return body or '<p class="na">no kept documents</p>'


def _dedup(r: dict) -> str:
    body = ""
    for name, g in r["global"].items():
        body += f"<h3>{_e(name)}</h3>" + plots.bars(g.get("cluster_sizes", {}), "duplicate clusters by size (documents per cluster)")
        body += _table(["documents", "clusters", "largest", "boilerplate lines", "partitions", "component rounds", "plan s"],
                       [[g["documents"], g["clusters"], g.get("largest_cluster", 0), g.get("frequent_lines", 0),
                         g["partitions"], g["cc_rounds"], g.get("wall_s", "")]])
        body += _table(["duplicate reason", "documents"], [[k, v] for k, v in g.get("duplicates", {}).items()])
    return body or '<p class="na">no dedup stage in this recipe</p>'


def _safety(r: dict) -> str:
    body = "" if r["safety"] else '<p class="na">no safety stage in this recipe: no blocklist, toxicity, porn or PII counts</p>'
    for name, st in r["safety"].items():
        body += f"<h3>{_e(name)}: {st['docs_in']:,} in, {st['docs_out']:,} kept</h3>"
        body += _table(["signal that fired", "documents dropped"], [[k, v] for k, v in st["rejected"].items()] or [["(none)", 0]])
        body += _table(["PII type", "masked in kept documents"],
                       [[k.removeprefix("pii_").removesuffix("_masked"), v] for k, v in st.get("edits", {}).items() if k.startswith("pii_")])
    null_scores = [f for f in ("toxic_score", "porn_score", "fluency_score", "not_ad_score") if f not in r.get("score_columns", [])]
    if null_scores:
        body += (f"<p class='meta'>In a WanJuan-CC export (corpus export) these scores are null, because no stage of this "
                 f"recipe writes them: {_e(', '.join(null_scores))}</p>")
    return body


def _samples(r: dict) -> str:
    blocks = []
    for block in r["samples"]["rejected"]:
        docs = block["docs"]
        if not docs:
            continue
        rows = []
        for d in docs:
            later = f' (later dropped: {_e(d["dup_of_dropped"])})' if d.get("dup_of_dropped") else ""
            if d.get("dup_of"):
                right = (f'<div><div class="meta">kept duplicate {_e(d["dup_of"])}{later}</div>'
                         f'<div class="doc kept">{_e(d.get("dup_of_text") or "")}</div></div>')
            elif d.get("beside"):
                right = _doc(d["beside"], "kept")
            else:
                right = '<div class="na">no kept document in this language</div>'
            rows.append(f'<div class="pair">{_doc(d, "", block["reason"])}{right}</div>')
        blocks.append(f'<div class="reason-block" id="{_anchor(block["stage"], block["reason"])}" data-reason="{_e(block["reason"])}">'
                      f'<h3>{_e(block["reason"])} <span class="meta">({_e(block["stage"])}; {len(docs)} dropped on the left, each beside a '
                      f'kept document of its language and nearest length)</span></h3>{"".join(rows)}</div>')
    q = r["samples"]["quarantine"]
    if q:
        blocks.append("<h3>Quarantined (a stage raised)</h3>" + _table(["stage", "source / url", "error"],
                      [[x.get("drop_stage"), x.get("url") or x.get("source"), x.get("error")] for x in q]))
    return ('<p>Filter reasons: <input id="reason-filter" placeholder="e.g. gopher"></p>' + "".join(blocks)
            if blocks else '<p class="na">nothing was dropped</p>')


def _domains(r: dict) -> str:
    rows = [[d["domain"], d["in"], d["kept"], f"{100 * d['kept'] / max(1, d['in']):.1f}%",
             "; ".join(f"{k} {v:,}" for k, v in d["reasons"].items()) or "–"] for d in r.get("domain_table") or []]
    return (_table(["domain", "documents in", "kept", "kept %", "why the rest fell (top reasons)"], rows) if rows
            else '<p class="na">no domains in this run</p>')


def _lengths(r: dict) -> str:
    return plots.lengths(r["lengths"]) if r.get("lengths") else '<p class="na">no document has text</p>'


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def _review(r: dict) -> str:
    s = r.get("review")
    if not s:
        return ('<p class="na">no labels yet: <code>corpus review DIR</code> opens a labelling page; its labels '
                '(DIR/review/labels.parquet) measure every filter\'s precision here</p>')
    from corpus.review.metrics import set_apart

    apart = set_apart(s)
    head = (f"<p>{s['documents']:,} documents labelled ({s['good']:,} good, {s['bad']:,} bad, {s['skip']:,} skipped)"
            + (f"; {_e(apart)}" if apart else "") + ". "
            "Drop precision is the share of a reason's labelled drops that are bad (for a dedup reason: that are true "
            "duplicates); the interval is Wilson's 95%; good documents lost = dropped × (1 − precision).</p>"
            + (f"<p class='meta'>{_e(s['rule'])}</p>" if s.get("rule") else ""))
    rows = [[p["stage"], p["reason"], p["lang"], "–" if p["dropped"] is None else p["dropped"], p["labelled"], p["bad"], _pct(p["precision"]),
             "–" if p["low"] is None else f"{_pct(p['low'])}–{_pct(p['high'])}", "–" if p["good_lost"] is None else f"{p['good_lost']:.0f}"]
            for p in s["precision"]]
    body = head + _table(["stage", "reason", "lang", "dropped", "labelled", "bad", "precision", "Wilson 95%", "good lost"], rows)
    body += "<h3>Kept documents (false keeps)</h3>" + _table(
        ["lang", "labelled", "bad", "false-keep rate", "Wilson 95%"],
        [[k["lang"], k["labelled"], k["bad"], _pct(k["rate"]), "–" if k["low"] is None else f"{_pct(k['low'])}–{_pct(k['high'])}"] for k in s["false_keep"]])
    if s.get("good_lost_total") is not None:
        body += f"<p>Estimated good documents lost to the labelled reasons: {s['good_lost_total']:,.0f}</p>"
    if s.get("whatif"):
        body += ("<h3>What if a threshold moved</h3><p class='meta'>Share of all documents, of those labelled good and of those "
                 "labelled bad at or above each value; the dashed line is the recipe's threshold.</p>")
        body += '<div class="grid">' + "".join(f"<div>{plots.whatif(c)}</div>" for c in s["whatif"]) + "</div>"
    return body


def _run_info(r: dict) -> str:
    return (f"<p class='meta'>{_e(r['dir'])} · recipe {_e(r.get('recipe_path'))} · started {_e(r.get('started_at'))}</p>"
            f"<pre>{_e(json.dumps(r['recipe'], indent=1, ensure_ascii=False))}</pre>"
            + _table(["package", "version"], [[k, v] for k, v in r["versions"].items()]))


def _decontamination(r: dict) -> str:
    d = r.get("decontamination")
    if d is None:
        return '<p class="na">no decontaminate stage in this recipe</p>'
    if not d["documents"]:
        return '<p class="na">no page quoted a benchmark item</p>'
    body = _table(["benchmark", "documents", "distinct items leaked"], [[b, n, d["items"].get(b, 0)] for b, n in d["documents"].items()])
    body += f"<p class='meta'>{d['passages_kept']:,} of them kept with the passage cut out (remove_passage)</p>"
    body += "<h3>Items found most often</h3>" + _table(["benchmark", "item", "documents"], d["top"])
    for x in d["examples"]:
        meta = f"{_e(x.get('url') or x['id'])} · {_e(x['decont_benchmark'])} item {_e(x['decont_item'])} · overlap {x['decont_overlap']:.2f}"
        body += (f'<div class="pair"><div><div class="meta">{meta}</div><div class="doc">{_e(x.get("decont_span") or "")}</div></div>'
                 f'<div><div class="meta">the benchmark item</div><div class="doc kept">{_e(x.get("item_text") or "")}</div></div></div>')
    return body


SECTIONS = [
    ("summary", "Summary", _summary),
    ("funnel", "Stage funnel: documents and bytes per stage", _funnel),
    ("languages", "Per language: each stage's funnel and reasons for zh and en side by side", _languages),
    ("reasons", "Why documents were dropped, per stage", _reasons),
    ("signals", "Signal distributions: kept vs rejected by the signal's stage, thresholds marked", _signals),
    ("mix", "Language and domain mix", _mix),
    ("domains", "Per domain: documents in, kept, and why the rest fell", _domains),
    ("lengths", "Document length (characters, log scale): kept vs rejected", _lengths),
    ("dedup", "Deduplication", _dedup),
    ("decontamination", "Decontamination: benchmark items found in the pages", _decontamination),
    ("safety", "Safety and PII", _safety),
    ("samples", "Samples: dropped documents beside kept ones", _samples),
    ("review", "Human review: how often each filter is right", _review),
    ("run", "Run", _run_info),
]


def render(r: dict) -> str:
    parts = "".join(_section(key, title, build(r)) for key, title, build in SECTIONS)
    nav = "".join(f'<a href="#{key}">{key}</a>' for key, _, _ in SECTIONS)
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{_e(r['pipeline'])} report</title>"
            f"<style>{CSS}</style><script>{SCRIPT}</script></head><body><header><h1>{_e(r['pipeline'])}: curation report</h1>"
            f"</header><nav>{nav}</nav>{parts}</body></html>")
