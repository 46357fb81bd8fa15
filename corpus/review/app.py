"""The labelling page: one HTML document with inline CSS and script (allowed by a per-process CSP nonce).

Everything a document holds reaches the page as JSON and is inserted with ``textContent`` / ``createTextNode``;
links are built only for http(s) URLs. Keyboard: g good, b bad, s skip, 1-8 toggle a tag, n note, m more sample.
"""

from __future__ import annotations

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f3b63;color:#fff;padding:8px 18px;display:flex;gap:18px;align-items:baseline}
header h1{font-size:17px;margin:0} main{display:grid;grid-template-columns:minmax(0,3fr) minmax(320px,2fr);gap:12px;padding:12px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 14px;margin-bottom:10px}
.meta{color:#555;font-size:12px;word-break:break-all} .why{font-weight:600;color:#b3401f} .keptfate{color:#1f63b3}
.doc{white-space:pre-wrap;font-size:13px;background:#f6f6f6;border-left:3px solid #d8593b;padding:8px;max-height:55vh;overflow:auto}
.doc.kept{border-color:#3b7dd8} mark{background:#ffd54a}
table{border-collapse:collapse;font-size:12px} td,th{border-bottom:1px solid #eee;padding:2px 7px;text-align:right}
td:first-child,th:first-child,#precision td:nth-child(2),#precision th:nth-child(2){text-align:left} tr.fired td{background:#ffe9e2;font-weight:600}
button{font-size:14px;padding:5px 12px;margin-right:6px} kbd{background:#eee;border:1px solid #ccc;border-radius:3px;padding:0 4px}
.tags label{display:inline-block;margin:2px 8px 2px 0;font-size:13px} #note{width:95%}
#status{color:#2a7a2a;font-size:12px} .err{color:#b00}
"""

SCRIPT = r"""
(function () {
  'use strict';
  var params = new URLSearchParams(location.search);
  var TOKEN = params.get('token') || '';
  var FOCUS = params.get('focus') || '';
  var FIRST = params.get('doc') || '';  // ?doc=ID opens that document first (a link from a note or the report)
  var CLIENT = Array.from(crypto.getRandomValues(new Uint8Array(8)), function (b) { return b.toString(16).padStart(2, '0'); }).join('');
  var current = null, stratum = '', busy = false, tags = [];
  // what a label answers depends on why the document was dropped (corpus.review.store.QUESTIONS)
  var QUESTIONS = {
    quality: 'Is this usable pretraining text? g = good, b = bad.',
    duplicate: 'Is this a duplicate of the kept document shown below? b = yes, a duplicate (the drop is right); ' +
               'g = no, a different document (the drop lost it). Judge duplication, not the quality of the text.',
    leak: 'Does this page quote the benchmark item marked in it? b = yes (the drop is right); g = no. Judge the quote, not the text.'
  };
  var $ = function (id) { return document.getElementById(id); };
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined && text !== null) { e.textContent = String(text); } if (cls) { e.className = cls; } return e; }
  function clear(e) { while (e.firstChild) { e.removeChild(e.firstChild); } return e; }
  function pct(x) { return x === null || x === undefined ? '\u2013' : (100 * x).toFixed(0) + '%'; }
  function api(path, body) {
    var opts = {headers: {'X-Review-Token': TOKEN}, cache: 'no-store'};
    if (body !== undefined) { opts.method = 'POST'; opts.headers['Content-Type'] = 'application/json'; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) { throw new Error(j.error || r.status); } return j; });
    });
  }
  function status(msg, bad) { var s = $('status'); s.textContent = msg; s.className = bad ? 'err' : ''; }
  function safeLink(url) {
    var a;
    try { a = new URL(url); } catch (e) { return el('span', url || '(no url)'); }
    if (a.protocol !== 'http:' && a.protocol !== 'https:') { return el('span', url); }
    var link = el('a', url); link.href = a.href; link.rel = 'noopener noreferrer'; link.target = '_blank';
    return link;
  }
  function table(head, rows) {
    var t = el('table'), tr = el('tr');
    head.forEach(function (h) { tr.appendChild(el('th', h)); });
    t.appendChild(tr);
    rows.forEach(function (r) { var row = el('tr'); r.forEach(function (c) { row.appendChild(el('td', c)); }); t.appendChild(row); });
    return t;
  }
  function renderDoc(d) {
    current = d;
    document.body.dataset.docId = d.id;
    var m = clear($('docmeta'));
    var fate = d.reason ? el('span', 'dropped by ' + d.stage + ': ' + d.reason, 'why') : el('span', 'kept', 'keptfate');
    m.appendChild(fate);
    m.appendChild(el('span', ' \u00b7 lang ' + (d.lang || '?') + ' \u00b7 ' + d.chars + ' characters \u00b7 sample ' + stratum));
    var q = clear($('question')); q.dataset.question = d.question;
    q.textContent = QUESTIONS[d.question] || QUESTIONS.quality;
    var t = clear($('doctitle')); t.appendChild(el('b', d.title || '(no title)'));
    var u = clear($('docurl')); u.appendChild(safeLink(d.url));
    var box = clear($('doctext'));
    box.className = 'doc' + (d.reason ? '' : ' kept');
    if (d.shown_from === 'extract_visible') { box.appendChild(el('i', '(extraction kept no text; the page\u2019s visible text:)\n')); }
    d.segments.forEach(function (s) { box.appendChild(s[1] ? el('mark', s[0]) : document.createTextNode(s[0])); });
    if (d.cut) { box.appendChild(el('i', '\n[\u2026 cut]')); }
    var sig = clear($('signals'));
    var t2 = table(['signal', 'value', 'recipe threshold'], []);
    d.signals.forEach(function (s) {
      var tr = el('tr'); if (s.fired) { tr.className = 'fired'; }
      tr.appendChild(el('td', s.column));
      tr.appendChild(el('td', +s.value.toPrecision(4)));
      tr.appendChild(el('td', s.thresholds.map(function (x) { return (x.keeps === 'above' ? 'keep \u2265 ' : x.keeps === 'below' ? 'keep \u2264 ' : 'tag \u2265 ') + x.value + ' (' + x.param + ')'; }).join('; ')));
      t2.appendChild(tr);
    });
    sig.appendChild(t2);
    var dup = clear($('dup'));
    if (d.dup) {
      dup.appendChild(el('div', 'duplicates ' + d.dup.id + (d.dup.dropped ? ' (itself dropped later: ' + d.dup.dropped + ')' : ''), 'meta'));
      dup.appendChild(safeLink(d.dup.url));
      dup.appendChild(el('div', d.dup.text, 'doc kept'));
    }
    tags = []; syncTags(); $('note').value = '';
  }
  function syncTags() { document.querySelectorAll('.tags input').forEach(function (b) { b.checked = tags.indexOf(b.value) >= 0; }); }
  function nextDoc() {
    if (FIRST) {
      var id = FIRST; FIRST = ''; stratum = 'linked';
      return api('/api/doc?id=' + encodeURIComponent(id)).then(renderDoc);
    }
    return api('/api/next?n=1&client=' + CLIENT + '&focus=' + encodeURIComponent(FOCUS)).then(function (r) {
      if (!r.docs.length) {
        current = null; document.body.dataset.docId = '';
        clear($('doctext')).appendChild(el('p', 'Every sampled document is labelled. Press m to draw more.'));
        return;
      }
      stratum = r.docs[0].stratum;
      return api('/api/doc?id=' + encodeURIComponent(r.docs[0].id)).then(renderDoc);
    });
  }
  function renderSummary(s) {
    document.body.dataset.labelled = String(s.documents);
    $('counts').textContent = s.documents + ' labelled (' + s.good + ' good, ' + s.bad + ' bad, ' + s.skip + ' skipped) \u00b7 ' + s.queue.left + ' of ' + s.queue.sampled + ' sampled left \u00b7 reviewer ' + s.reviewer;
    var p = clear($('precision'));
    var t = table(['stage', 'reason', 'lang', 'dropped', 'labelled', 'bad', 'precision', 'Wilson 95%', 'good lost'], []);
    t.id = 'precision-table';
    s.precision.forEach(function (r) {
      var tr = el('tr'); tr.dataset.reason = r.reason; tr.dataset.lang = r.lang; tr.dataset.bad = r.bad; tr.dataset.labelled = r.labelled;
      [r.stage, r.reason, r.lang, r.dropped === null ? '\u2013' : r.dropped, r.labelled, r.bad, pct(r.precision),
       r.low === null ? '\u2013' : pct(r.low) + '\u2013' + pct(r.high), r.good_lost === null ? '\u2013' : r.good_lost.toFixed(1)]
        .forEach(function (c) { tr.appendChild(el('td', c)); });
      t.appendChild(tr);
    });
    p.appendChild(t);
    var k = clear($('falsekeep'));
    s.false_keep.forEach(function (r) {
      var d = el('div', 'kept, lang ' + r.lang + ': ' + r.bad + ' of ' + r.labelled + ' bad \u2192 false-keep rate ' + pct(r.rate) + (r.low === null ? '' : ' (' + pct(r.low) + '\u2013' + pct(r.high) + ')'));
      d.dataset.lang = r.lang; d.dataset.bad = r.bad; d.dataset.labelled = r.labelled; k.appendChild(d);
    });
    if (s.good_lost_total !== null) { k.appendChild(el('div', 'estimated good documents lost to labelled reasons: ' + s.good_lost_total.toFixed(0))); }
    var a = clear($('apart')), parts = [];
    if (s.stale) { parts.push(s.stale + ' stale (the document\u2019s text changed since it was labelled)'); }
    if (s.other_question) { parts.push(s.other_question + ' answering another question than this run asks of the document'); }
    if (parts.length) { parts[parts.length - 1] += ' (offered again first)'; }
    if (s.not_in_run) { parts.push(s.not_in_run + ' for documents not in this run'); }
    a.dataset.stale = s.stale; a.dataset.otherQuestion = s.other_question;
    if (parts.length) { a.textContent = 'Not counted: documents with labels ' + parts.join('; ') + '.'; }
    $('rule').textContent = s.rule || '';
    var sel = $('wcol');
    if (!sel.options.length) { s.signals.forEach(function (c) { var o = el('option', c); o.value = c; sel.appendChild(o); }); }
  }
  function whatif() {
    var col = $('wcol').value; if (!col) { return; }
    api('/api/whatif?column=' + encodeURIComponent(col) + '&lang=' + encodeURIComponent($('wlang').value)).then(function (w) {
      var box = clear($('whatif'));
      if (!w.curve) { box.appendChild(el('p', 'no values')); return; }
      box.appendChild(el('div', w.total + ' documents with a value; labelled ' + w.good + ' good, ' + w.bad + ' bad. Recipe: ' +
        (w.thresholds.map(function (x) { return x.param + ' = ' + x.value + ' (keeps ' + x.keeps + ')'; }).join('; ') || 'no threshold'), 'meta'));
      box.appendChild(table(['threshold t', 'docs \u2265 t', 'good \u2265 t', 'bad \u2265 t', 'docs < t', 'good < t', 'bad < t'],
        w.curve.map(function (c) { return [+c.t.toPrecision(4), c.all, c.good, c.bad, w.total - c.all, w.good - c.good, w.bad - c.bad]; })));
    }).catch(function (e) { status(String(e.message || e), true); });
  }
  function submit(label) {
    if (!current || busy) { return; }
    busy = true; document.body.dataset.busy = '1';
    var body = {id: current.id, label: label, tags: tags.slice(), note: $('note').value, stratum: stratum};
    api('/api/label', body).then(function (r) {
      status('saved ' + label + ' (' + r.labels + ' label rows)');
      renderSummary(r.summary);
      return nextDoc();
    }).catch(function (e) { status('not saved: ' + (e.message || e), true); }).then(function () { busy = false; document.body.dataset.busy = '0'; });
  }
  function more() { api('/api/more', {}).then(function (r) { status('sample extended to ' + r.depth + ' per stratum'); return nextDoc(); }); }
  document.addEventListener('keydown', function (ev) {
    var tag = ev.target && ev.target.tagName;
    if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT') {
      if (ev.key === 'Escape' || (ev.key === 'Enter' && ev.target.id === 'note')) { ev.target.blur(); ev.preventDefault(); }
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var k = ev.key;
    if (k === 'g') { submit('good'); } else if (k === 'b') { submit('bad'); } else if (k === 's') { submit('skip'); }
    else if (k === 'n') { $('note').focus(); ev.preventDefault(); }
    else if (k === 'm') { more(); }
    else if (k >= '1' && k <= '8') {
      var boxes = document.querySelectorAll('.tags input'), b = boxes[+k - 1];
      if (b) { var i = tags.indexOf(b.value); if (i >= 0) { tags.splice(i, 1); } else { tags.push(b.value); } syncTags(); }
    } else { return; }
    ev.preventDefault();
  });
  document.addEventListener('DOMContentLoaded', function () {
    api('/api/meta').then(function (m) {
      $('run').textContent = m.run;
      var box = $('tags');
      m.tags.forEach(function (t, i) {
        var l = el('label'), c = el('input'); c.type = 'checkbox'; c.value = t;
        c.addEventListener('change', function () { var j = tags.indexOf(t); if (c.checked && j < 0) { tags.push(t); } if (!c.checked && j >= 0) { tags.splice(j, 1); } });
        l.appendChild(c); l.appendChild(el('span', ' ' + (i + 1) + ' ' + t)); box.appendChild(l);
      });
      ['good', 'bad', 'skip'].forEach(function (x) { $('btn-' + x).addEventListener('click', function () { submit(x); }); });
      $('wcol').addEventListener('change', whatif); $('wlang').addEventListener('change', whatif);
      return api('/api/summary');
    }).then(function (s) { renderSummary(s); return nextDoc(); })
      .then(function () { document.body.dataset.ready = '1'; })
      .catch(function (e) { status(String(e.message || e), true); });
  });
})();
"""

BODY = """
<header><h1>corpus review</h1><span id="run"></span><span id="counts"></span></header>
<main><div>
 <div class="card"><div id="docmeta" class="meta"></div><div id="doctitle"></div><div id="docurl" class="meta"></div>
  <div id="doctext" class="doc"></div><div id="dup"></div></div>
 <div class="card"><h3>Signals (a row in red breaks the recipe's threshold for this language)</h3><div id="signals"></div></div>
</div><div>
 <div class="card"><button id="btn-good"><kbd>g</kbd> good</button><button id="btn-bad"><kbd>b</kbd> bad</button>
  <button id="btn-skip"><kbd>s</kbd> skip</button><div id="tags" class="tags"></div>
  <input id="note" placeholder="note (n to write, Enter to leave)" maxlength="2000"><div id="status"></div>
  <div id="question" class="why"></div>
  <div class="meta">good = a reader gets coherent information from it (usable pretraining text); bad = it should not be in
  the corpus. A dedup drop asks instead whether it duplicates the kept document (bad = a duplicate).
  <kbd>m</kbd> draws more documents per stratum.</div></div>
 <div class="card"><h3>Drop precision (share of labelled drops that are bad)</h3>
  <div id="rule" class="meta"></div><div id="apart" class="meta"></div><div id="precision"></div>
  <h3>Kept documents</h3><div id="falsekeep"></div></div>
 <div class="card"><h3>What if a threshold moved</h3><select id="wcol"></select>
  <select id="wlang"><option value="">all languages</option><option value="zh">zh</option><option value="en">en</option></select>
  <div id="whatif"></div></div>
</div></main>
"""


def page(nonce: str) -> str:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><link rel='icon' href='data:,'><title>corpus review</title>"
            f"<style nonce='{nonce}'>{CSS}</style><script nonce='{nonce}'>{SCRIPT}</script></head><body>{BODY}</body></html>")
