"""Report plots with matplotlib, rendered to inline SVG: the page needs no network and no JavaScript library."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
                     "svg.hashsalt": "wanjuan-corpus"})  # fixed ids: the same run gives the same page
KEPT, DROPPED, EDGE = "#3b7dd8", "#d8593b", "#333333"
LINESTYLES = ["-", "--", ":", "-."]


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


def funnel(stages: list[dict]) -> str:
    names = [s["name"] for s in stages][::-1]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 0.32 * len(names) + 1.2), sharey=True)
    a.barh(names, [s["docs_out"] for s in stages][::-1], color=KEPT, label="out")
    a.barh(names, [s["rejected"] + s["errors"] for s in stages][::-1], left=[s["docs_out"] for s in stages][::-1],
           color=DROPPED, label="rejected + errors")
    a.set_xlabel("documents")
    a.legend(loc="lower right", frameon=False)
    b.barh(names, [s["bytes_out"] / 1e6 for s in stages][::-1], color=KEPT)
    b.set_xlabel("bytes out (MB; raw payload for read, text after)")
    return _svg(fig)


def reasons(stage: str, counts: dict[str, int]) -> str:
    items = sorted(counts.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(items) + 0.9))
    ax.barh([k for k, _ in items], [v for _, v in items], color=DROPPED)
    ax.set_xlabel(f"documents rejected by {stage}")
    for i, (_, v) in enumerate(items):
        ax.text(v, i, f" {v:,}", va="center", fontsize=8)
    return _svg(fig)


def histogram(dist: dict) -> str:
    h = dist["histogram"]
    edges = h["edges"]
    widths = [b - a for a, b in zip(edges, edges[1:])]
    fig, ax = plt.subplots(figsize=(4.6, 2.6))
    for key, color, label in (("kept", KEPT, "kept"), ("rejected", DROPPED, f"rejected by {dist['stage']}")):
        total = sum(h[key])
        if total:
            ax.bar(edges[:-1], [100 * c / total for c in h[key]], width=widths, align="edge", alpha=0.55, color=color,
                   label=f"{label} (n={dist[key]['n']:,})")
    for i, (lang, values) in enumerate(dist["thresholds"].items()):
        for param, v in values.items():
            ax.axvline(v, color=EDGE, linestyle=LINESTYLES[i % len(LINESTYLES)], linewidth=1,
                       label=f"{param} = {v:g}" + ("" if lang == "*" else f" ({lang})"))
    ax.set_xlabel(dist["column"])
    ax.set_ylabel("share of documents (%)")
    ax.legend(fontsize=7, frameon=False)
    return _svg(fig)


def bars(counts: dict[str, int | float], xlabel: str, color: str = KEPT) -> str:
    items = list(counts.items())[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.26 * len(items) + 0.9))
    ax.barh([str(k) for k, _ in items], [v for _, v in items], color=color)
    ax.set_xlabel(xlabel)
    return _svg(fig)
