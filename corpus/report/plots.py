"""Report plots as hand-written inline SVG: no plotting library, no network, no script.

matplotlib took 17 s to draw the 70 plots of a 3,000-document run on this machine (50-65 s reported elsewhere),
almost all of it figure setup and text layout; these are string templates, so a plot costs well under a
millisecond whatever the run's size (the data behind it is already aggregated). Every label is escaped, sizes
are fixed, and the output is deterministic: the same run gives the same bytes. Bars can carry a link (the reason
bars link to their samples).
"""

from __future__ import annotations

import html
import math

KEPT, DROPPED, EDGE, GOOD, BAD = "#3b7dd8", "#d8593b", "#333333", "#2a9d5b", "#c0392b"
DASHES = ["", "5,3", "2,2", "8,3,2,3"]
FONT = "font-family:system-ui,sans-serif;font-size:11px"


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _num(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.3g}M"
    if a >= 1e4:
        return f"{v / 1e3:.3g}k"
    return f"{v:.4g}"


def _svg(w: int, h: int, body: str, title: str = "") -> str:
    t = f"<title>{_e(title)}</title>" if title else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
            f'style="{FONT}" role="img">{t}{body}</svg>')


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * step:
            step *= m
            break
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def hbars(items: list[tuple[str, float]], xlabel: str, color: str = KEPT, links: dict[str, str] | None = None,
          stacked: list[tuple[str, float]] | None = None, width: int = 640) -> str:
    """Horizontal bars, one per (label, value), largest scale first; ``links`` maps a label to an href (#anchor)."""
    if not items:
        return ""
    left = min(300, 12 + 6.5 * max(len(str(k)) for k, _ in items))
    bar_w, row = width - left - 70, 18
    top = max([v for _, v in items] + [a + b for (_, a), (_, b) in zip(items, stacked or [])] + [1e-12])
    parts = []
    for i, (label, v) in enumerate(items):
        y = 4 + i * row
        wpx = bar_w * v / top
        name = f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{_e(label)}</text>'
        if links and label in links:
            name = f'<a href="{_e(links[label])}">{name}</a>'
        parts.append(name + f'<rect x="{left}" y="{y + 2}" width="{wpx:.1f}" height="{row - 5}" fill="{color}"/>')
        extra = 0.0
        if stacked:
            extra = stacked[i][1]
            parts.append(f'<rect x="{left + wpx:.1f}" y="{y + 2}" width="{bar_w * extra / top:.1f}" height="{row - 5}" fill="{DROPPED}"/>')
        parts.append(f'<text x="{left + bar_w * (v + extra) / top + 4:.1f}" y="{y + 12}">{_e(_num(v))}'
                     + (f" + {_e(_num(extra))}" if stacked else "") + "</text>")
    h = 4 + len(items) * row + 22
    parts.append(f'<text x="{left}" y="{h - 6}" fill="#555">{_e(xlabel)}</text>')
    return _svg(width, h, "".join(parts), xlabel)


def funnel(stages: list[dict]) -> str:
    docs = hbars([(s["name"], s["docs_out"]) for s in stages], "documents out (blue) + rejected or errors (red)",
                 stacked=[(s["name"], s["rejected"] + s["errors"]) for s in stages])
    mb = hbars([(s["name"], s["bytes_out"] / 1e6) for s in stages], "MB out (raw payload for read, text after)", width=420)
    return f'<div class="grid"><div>{docs}</div><div>{mb}</div></div>'


def reasons(stage: str, counts: dict[str, int], anchor=None) -> str:
    """A stage's reasons, most frequent first; each bar links to its samples when ``anchor(reason)`` gives one."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    links = {k: f"#{anchor(k)}" for k, _ in items} if anchor else None
    return hbars(items, f"documents rejected by {stage} (click a reason for samples)", DROPPED, links)


def bars(counts: dict[str, int | float], xlabel: str, color: str = KEPT) -> str:
    return hbars(list(counts.items()), xlabel, color)


def _axes(x0: int, y0: int, w: int, h: int, xlo: float, xhi: float, ymax: float, xlabel: str, ylabel: str,
          log: bool = False) -> tuple[list[str], callable, callable]:
    def sx(v: float) -> float:
        if log:
            v = math.log10(max(v, 1e-12))
        return x0 + w * (v - xlo) / (xhi - xlo if xhi > xlo else 1)

    def sy(v: float) -> float:
        return y0 + h - h * v / (ymax or 1)

    p = [f'<line x1="{x0}" y1="{y0 + h}" x2="{x0 + w}" y2="{y0 + h}" stroke="{EDGE}"/>',
         f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y0 + h}" stroke="{EDGE}"/>']
    ticks = [10 ** k for k in range(math.floor(xlo), math.ceil(xhi) + 1)] if log else _ticks(xlo, xhi)
    for t in ticks:
        x = sx(t)
        if x0 - 0.5 <= x <= x0 + w + 0.5:
            p.append(f'<line x1="{x:.1f}" y1="{y0 + h}" x2="{x:.1f}" y2="{y0 + h + 4}" stroke="{EDGE}"/>'
                     f'<text x="{x:.1f}" y="{y0 + h + 15}" text-anchor="middle">{_e(_num(t))}</text>')
    for t in _ticks(0, ymax or 1, 4):
        y = sy(t)
        p.append(f'<text x="{x0 - 4}" y="{y + 4:.1f}" text-anchor="end">{_e(_num(t))}</text>')
    p.append(f'<text x="{x0 + w / 2}" y="{y0 + h + 30}" text-anchor="middle">{_e(xlabel)}</text>'
             f'<text x="12" y="{y0 + h / 2}" transform="rotate(-90 12 {y0 + h / 2})" text-anchor="middle">{_e(ylabel)}</text>')
    return p, sx, sy


def _legend(entries: list[tuple[str, str, str]], x: int, y: int) -> str:
    out = []
    for i, (label, color, dash) in enumerate(entries):
        yy = y + 13 * i
        out.append(f'<line x1="{x}" y1="{yy}" x2="{x + 16}" y2="{yy}" stroke="{color}" stroke-width="3"'
                   + (f' stroke-dasharray="{dash}"' if dash else "") + f'/><text x="{x + 20}" y="{yy + 4}">{_e(label)}</text>')
    return "".join(out)


def histogram(dist: dict) -> str:
    """Kept against rejected (each as a share of its own total), the recipe's thresholds as vertical lines."""
    h = dist["histogram"]
    edges = h["edges"]
    shares = {k: [100 * c / max(1, sum(h[k])) for c in h[k]] for k in ("kept", "rejected")}
    ymax = max(max(shares["kept"] or [0]), max(shares["rejected"] or [0]), 1e-9)
    th = [(lang, p, v) for lang, values in dist["thresholds"].items() for p, v in values.items()]
    w, hh, x0, y0 = 440, 150, 46, 8 + 13 * (2 + len(th))
    p, sx, sy = _axes(x0, y0, w - x0 - 10, hh, edges[0], edges[-1], ymax, dist["column"], "% of documents")
    for key, color in (("kept", KEPT), ("rejected", DROPPED)):
        for a, b, s in zip(edges, edges[1:], shares[key]):
            if s:
                p.append(f'<rect x="{sx(a):.1f}" y="{sy(s):.1f}" width="{max(0.5, sx(b) - sx(a)):.1f}" '
                         f'height="{sy(0) - sy(s):.1f}" fill="{color}" fill-opacity="0.55"/>')
    legend = [(f"kept (n={dist['kept']['n']:,})", KEPT, ""), (f"rejected by {dist['stage']} (n={dist['rejected']['n']:,})", DROPPED, "")]
    for i, (lang, param, v) in enumerate(th):
        dash = DASHES[i % len(DASHES)]
        x = sx(v)
        p.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + hh}" stroke="{EDGE}"' + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
        legend.append((f"{param} = {v:g}" + ("" if lang == "*" else f" ({lang})"), EDGE, dash))
    p.append(_legend(legend, x0 + 6, 8))
    return _svg(w, y0 + hh + 36, "".join(p), dist["column"])


def lengths(hist: dict) -> str:
    """Document length in characters on a log axis: kept against rejected (documents with text), counts."""
    edges = hist.get("edges") or []
    if len(edges) < 2:
        return ""
    ymax = max(max(hist["kept"] or [0]), max(hist["rejected"] or [0]), 1)
    w, hh, x0, y0 = 640, 170, 52, 36
    p, sx, sy = _axes(x0, y0, w - x0 - 10, hh, math.log10(edges[0]), math.log10(edges[-1]), ymax,
                      "characters per document (log scale)", "documents", log=True)
    for key, color in (("kept", KEPT), ("rejected", DROPPED)):
        for a, b, c in zip(edges, edges[1:], hist[key]):
            if c:
                p.append(f'<rect x="{sx(a):.1f}" y="{sy(c):.1f}" width="{max(0.5, sx(b) - sx(a) - 0.5):.1f}" '
                         f'height="{sy(0) - sy(c):.1f}" fill="{color}" fill-opacity="0.55"/>')
    p.append(_legend([(f"kept ({sum(hist['kept']):,})", KEPT, ""), (f"rejected with text ({sum(hist['rejected']):,})", DROPPED, "")], x0 + 6, 10))
    return _svg(w, y0 + hh + 36, "".join(p), "document length")


def whatif(curve: dict) -> str:
    """A threshold's effect as it moves: share of all documents, of those labelled good and of those labelled bad
    that are at or above it (the side ``min_*`` keeps)."""
    pts = curve.get("curve") or []
    if len(pts) < 2:
        return ""
    w, hh, x0, y0 = 440, 150, 46, 50
    xs = [c["t"] for c in pts]
    p, sx, sy = _axes(x0, y0, w - x0 - 10, hh, min(xs), max(xs), 100, curve["column"], "% at or above t")
    series = [("all", "#777777", f"all documents ({curve['total']:,})"), ("good", GOOD, f"labelled good ({curve['good']})"),
              ("bad", BAD, f"labelled bad ({curve['bad']})")]
    legend = []
    for key, color, label in series:
        total = curve["total"] if key == "all" else curve[key]
        if not total:
            continue
        d = " ".join(f"{'M' if i == 0 else 'L'}{sx(c['t']):.1f},{sy(100 * c[key] / total):.1f}" for i, c in enumerate(pts))
        p.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2"/>')
        legend.append((label, color, ""))
    for t in curve.get("thresholds", []):
        x = sx(t["value"])
        p.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + hh}" stroke="{EDGE}" stroke-dasharray="5,3"/>')
        legend.append((f"{t['param']} = {t['value']:g} (keeps {t['keeps']})", EDGE, "5,3"))
    p.append(_legend(legend, x0 + 6, 8))
    return _svg(w, y0 + hh + 36, "".join(p), f"what-if {curve['column']}")
