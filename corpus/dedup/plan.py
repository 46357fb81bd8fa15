"""The global part of dedup: from every shard's fingerprints to one decision per duplicate document.

    fingerprints/<shard>.parquet ──map──▶ band and exact keys ─▶ group by key ─▶ edges ─▶ components
                                 └─────▶ url keys ─▶ group by url (newest capture wins) ────────┐
                                 └─────▶ node attributes ─▶ join labels by node ◀──────────────┘
                                         ─▶ group by component: keep one ─▶ decisions/*.parquet
    decisions + fingerprints ─▶ line hashes of surviving documents ─▶ count ─▶ frequent_lines.npy

Every arrow is a hash-partitioned exchange (``exchange.partition``): a reduce task holds one partition
only, so memory follows ``memory_mb`` rather than the corpus size. A node id is ``shard index << 32 | row``:
compact, and it tells the apply step which shard and row a decision is for without another shuffle.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from corpus import runstore, storage
from corpus.rundir import write_parquet
from corpus.dedup import components
from corpus.dedup.exchange import Executor, column, concat, partition, transpose
from corpus.dedup.minhash import mix64

EXACT_SALT = np.uint64(0xE7AC7D0C5A1712A1)
ROW_BITS = np.uint64(32)
DECISION_SCHEMA = pa.schema([
    ("node", pa.uint64()), ("dup_cluster", pa.string()), ("dup_cluster_size", pa.int32()),
    ("dup_of", pa.string()), ("reason", pa.string()),
])
KEEP_RULES = ("longest", "newest", "oldest", "quality")
SIZE_BINS = (("2", 2), ("3-5", 5), ("6-10", 10), ("11-100", 100), (">100", float("inf")))


@dataclasses.dataclass(frozen=True)
class Source:
    """One fingerprint file; reference sources (earlier corpora) only ever win, and get no decisions."""
    path: str
    index: int
    reference: bool = False
    decisions: str | None = None  # a reference run's decisions folder: documents it dropped are no references
    origin_index: int = 0  # the source's index in that run
    options: dict | None = None  # storage options when ``path`` is a URL (a run on object storage)


@dataclasses.dataclass(frozen=True)
class Settings:
    url: bool
    url_keep: str  # newest | oldest capture of a URL
    exact: bool
    fuzzy: bool
    bands: int
    threshold: float
    verify: bool  # check candidate pairs' exact shingle Jaccard similarity against threshold
    keep: str
    line_min_docs: int  # 0: no line dedup
    parts: int


def node_ids(index: int, rows: np.ndarray) -> np.ndarray:
    return (np.uint64(index) << ROW_BITS) | rows.astype(np.uint64)


def row_ids(nodes: np.ndarray) -> np.ndarray:
    """The row half of node ids (their shard is the high half)."""
    return (nodes & np.uint64(0xFFFFFFFF)).astype(np.uint32)


def dropped_rows(decision_dir: str | Path, index: int) -> np.ndarray:
    """Rows of shard ``index`` that its decisions drop as duplicates."""
    t = shard_decisions(decision_dir, index)
    return row_ids(column(t.filter(pc.is_valid(t.column("reason"))), "node"))


def _read(src: Source, columns: list[str]) -> pa.Table:
    t = pq.read_table(runstore.fetch(src.path, src.options), columns=columns + ["row"])
    nodes = node_ids(src.index, column(t, "row"))
    if src.decisions:  # a reference corpus: only the documents it kept
        keep = ~np.isin(column(t, "row"), dropped_rows(src.decisions, src.origin_index))
        t, nodes = t.filter(pa.array(keep)), nodes[keep]
    return t.append_column("node", pa.array(nodes, pa.uint64()))


def _matrix(arr: pa.ChunkedArray | pa.Array, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a fixed-size-list column as a matrix, with the mask of non-null rows."""
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    valid = pc.is_valid(arr).to_numpy(zero_copy_only=False)
    return arr.flatten().to_numpy().reshape(-1, width), valid


def map_fingerprints(src: Source, s: Settings) -> list:
    """One pass over a fingerprint file -> partitions of [band keys by key] + [exact-text keys by key] +
    [attributes by node] + [url keys by url] + [shingle sets by node, for verifying candidate pairs]."""
    t = _read(src, ["id", "url_key", "date", "chars", "quality", "text_hash", "bands"] + (["shingles"] if s.verify else []))
    node = column(t, "node")
    empty = np.empty(0, np.uint64)
    band_keys, band_nodes = empty, empty
    sets = pa.table({"node": pa.array([], pa.uint64()), "shingles": pa.array([], pa.list_(pa.uint32()))})
    if s.fuzzy and t.num_rows:
        bands, valid = _matrix(t.column("bands"), s.bands)  # null: a text without any shingle
        band_keys, band_nodes = bands[valid].ravel(), np.repeat(node[valid], s.bands)
        if s.verify:
            sets = t.select(["node", "shingles"]).filter(pa.array(valid))
    exact_keys = mix64(column(t, "text_hash") ^ EXACT_SALT) if s.exact and t.num_rows else empty
    exact_nodes = node if s.exact else empty
    attrs = t.select(["node", "id", "date", "chars", "quality", "text_hash"])
    attrs = attrs.append_column("reference", pa.array(np.full(t.num_rows, src.reference)))
    url = attrs.select(["node", "id", "date", "reference"]).append_column("url_key", t.column("url_key"))
    if not s.url:
        url = url.slice(0, 0)
    return (_keyed(band_keys, band_nodes, s.parts) + _keyed(exact_keys, exact_nodes, s.parts)
            + partition(attrs, node, s.parts) + partition(url, column(url, "url_key"), s.parts)
            + partition(sets, column(sets, "node"), s.parts))


def _keyed(keys: np.ndarray, nodes: np.ndarray, parts: int) -> list[pa.Table]:
    t = pa.table({"key": pa.array(keys, pa.uint64()), "node": pa.array(nodes, pa.uint64())})
    return partition(t, keys, parts)


ANCHORS = 2  # members of a key group every other member is compared with (NeMo Curator's anchor idea)


def group_keys(parts: int, *tables: pa.Table) -> list[pa.Table]:
    """Documents sharing a key (a band of equal MinHash rows, or the same normalised text): link every member
    to the group's first ANCHORS members, so one dissimilar anchor cannot hide a true pair. Edges come back
    partitioned by their first endpoint."""
    t = concat(tables)
    if not t.num_rows:
        return [components.edges(np.empty(0, np.uint64), np.empty(0, np.uint64))] * parts
    key, node = column(t, "key"), column(t, "node")
    order = np.lexsort((node, key))
    key, node = key[order], node[order]
    new = np.concatenate([[True], key[1:] != key[:-1]])
    starts = np.flatnonzero(new)
    gid = np.cumsum(new) - 1
    rank = np.arange(len(key)) - starts[gid]
    size = np.diff(np.append(starts, len(key)))[gid]
    a_parts, b_parts = [], []
    for k in range(min(ANCHORS, int(size.max()))):
        sel = (rank > k) & (size > k + 1)
        a_parts.append(node[sel])
        b_parts.append(node[starts[gid[sel]] + k])
    a, b = components.unique_pairs(np.concatenate(a_parts), np.concatenate(b_parts))
    return partition(components.edges(a, b), a, parts)


def _lookup(sets: pa.Table, nodes: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """Shingle sets of ``nodes`` from one partition's set table (empty where missing), and which were found."""
    empty = pa.array([[]] * len(nodes), pa.list_(pa.uint32()))
    if not sets.num_rows:
        return empty, np.zeros(len(nodes), bool)
    have = column(sets, "node")
    order = np.argsort(have)
    pos = np.searchsorted(have[order], nodes).clip(max=len(have) - 1)
    found = have[order][pos] == nodes
    taken = sets.column("shingles").combine_chunks().take(pa.array(order[pos]))
    return pc.if_else(pa.array(found), taken, empty), found


def attach_first(parts: int, n_edges: int, *tables: pa.Table) -> list[pa.Table]:
    """Verification, step 1: join each candidate edge with its first endpoint's shingles; regroup by the second."""
    e, sets = concat(tables[:n_edges]), concat(tables[n_edges:])
    a = column(e, "a") if e.num_rows else np.empty(0, np.uint64)
    b = column(e, "b") if e.num_rows else np.empty(0, np.uint64)
    sh, _ = _lookup(sets, a)
    out = pa.table({"a": pa.array(a, pa.uint64()), "b": pa.array(b, pa.uint64()), "shingles": sh})
    return partition(out, b, parts)


def jaccard(x: pa.Array, y: pa.Array) -> np.ndarray:
    """Exact Jaccard similarity of each pair of sorted, distinct shingle-hash lists."""
    xo, xv = x.offsets.to_numpy(), x.values.to_numpy()
    yo, yv = y.offsets.to_numpy(), y.values.to_numpy()
    out = np.empty(len(x), np.float64)
    for i in range(len(x)):
        p, q = xv[xo[i] : xo[i + 1]], yv[yo[i] : yo[i + 1]]
        inter = len(np.intersect1d(p, q, assume_unique=True))
        union = len(p) + len(q) - inter
        out[i] = inter / union if union else 0.0
    return out


def verify(threshold: float, n_edges: int, *tables: pa.Table) -> pa.Table:
    """Verification, step 2: keep a candidate pair only if the exact Jaccard similarity of its shingle sets
    reaches the threshold. LSH banding alone lets pairs well below the threshold through (and a MinHash
    estimate from 128 permutations is off by +-0.04), so this is what makes precision independent of banding."""
    e, sets = concat(tables[:n_edges]), concat(tables[n_edges:])
    if not e.num_rows:
        return components.edges(np.empty(0, np.uint64), np.empty(0, np.uint64))
    a, b = column(e, "a"), column(e, "b")
    sh_b, _ = _lookup(sets, b)
    keep = jaccard(e.column("shingles").combine_chunks(), sh_b) >= threshold
    return components.edges(a[keep], b[keep])


def group_urls(parts: int, keep: str, *tables: pa.Table) -> list[pa.Table]:
    """Captures of one URL: the reference copy, else the newest (or oldest) capture, stays; the rest are URL duplicates."""
    t = concat(tables)
    if not t.num_rows:
        empty = pa.table({"node": pa.array([], pa.uint64()), "url_dup_of": pa.array([], pa.string())})
        return [empty] * parts
    t = t.take(pc.sort_indices(t, [("url_key", "ascending"), ("reference", "descending"),
                                   ("date", "descending" if keep == "newest" else "ascending"), ("id", "ascending")]))
    key = column(t, "url_key")
    new = np.concatenate([[True], key[1:] != key[:-1]])
    keeper = np.flatnonzero(new)[np.cumsum(new) - 1]
    dropped = (~new) & ~t.column("reference").to_numpy(zero_copy_only=False)
    out = pa.table({"node": t.column("node").take(np.flatnonzero(dropped)),
                    "url_dup_of": t.column("id").take(keeper[dropped])})
    return partition(out, column(out, "node"), parts)


def join_members(parts: int, n_attrs: int, labels: pa.Table, *rest: pa.Table) -> list:
    """Partition p of: component labels ⋈ attributes ⋈ URL duplicates, regrouped by component root.

    Also returns the decisions for URL duplicates that belong to no component (nothing else to decide)."""
    attrs, urls = concat(rest[:n_attrs]), concat(rest[n_attrs:])
    members = labels.join(attrs, "node", join_type="inner")
    if urls.num_rows:
        members = members.join(urls, "node", join_type="left outer")
    else:
        members = members.append_column("url_dup_of", pa.nulls(members.num_rows, pa.string()))
    members = members.combine_chunks()
    lonely = urls.filter(pc.invert(pc.is_in(urls.column("node"), labels.column("node")))) if urls.num_rows else urls
    n = lonely.num_rows
    url_only = pa.Table.from_arrays(
        [lonely.column("node") if n else pa.array([], pa.uint64()), pa.nulls(n, pa.string()), pa.nulls(n, pa.int32()),
         lonely.column("url_dup_of") if n else pa.array([], pa.string()), pa.array(["dedup.url"] * n, pa.string())],
        schema=DECISION_SCHEMA)
    return partition(members, column(members, "root"), parts) + [url_only]


def choose(keep: str, *tables: pa.Table) -> pa.Table:
    """One keeper per component, by a deterministic order: reference first, then the keep rule, then id."""
    t = concat(tables)
    if not t.num_rows:
        return DECISION_SCHEMA.empty_table()
    rule = {"longest": [("chars", "descending")], "newest": [("date", "descending")],
            "oldest": [("date", "ascending")], "quality": [("quality", "descending")]}[keep]
    t = t.append_column("_eligible", pc.is_null(t.column("url_dup_of")))
    t = t.set_column(t.schema.get_field_index("quality"), "quality", pc.fill_null(t.column("quality"), -math.inf))
    t = t.set_column(t.schema.get_field_index("date"), "date", pc.fill_null(t.column("date"), ""))
    t = t.take(pc.sort_indices(t, [("root", "ascending"), ("_eligible", "descending"), ("reference", "descending")]
                               + rule + [("id", "ascending")]))
    root = column(t, "root")
    new = np.concatenate([[True], root[1:] != root[:-1]])
    gid = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    size = np.bincount(gid)[gid].astype(np.int32)
    ids = t.column("id").to_numpy(zero_copy_only=False)
    eligible = t.column("_eligible").to_numpy(zero_copy_only=False)
    keeper = first[gid]
    has_keeper = eligible[keeper]
    th = column(t, "text_hash")
    is_keeper = new & eligible
    url_dup_of = t.column("url_dup_of").to_numpy(zero_copy_only=False)
    reason = np.where(is_keeper, None, np.where(~eligible, "dedup.url",
                      np.where(th == th[keeper], "dedup.exact", "dedup.fuzzy")))
    dup_of = np.where(is_keeper, None, np.where(~eligible, url_dup_of, ids[keeper]))
    cluster = np.where(has_keeper, ids[keeper], None)
    out = pa.Table.from_arrays([t.column("node"), pa.array(cluster, pa.string()), pa.array(size, pa.int32()),
                                pa.array(dup_of, pa.string()), pa.array(reason, pa.string())], schema=DECISION_SCHEMA)
    return out.filter(pc.invert(t.column("reference")))


def write_decisions(loc: str, options: dict | None, *tables: pa.Table) -> dict:
    """Sorted by node, so a shard's decisions are one row-group-pruned range read. ``loc``: a path, or the URL of
    a run on object storage (written in this node's cache, then published)."""
    t = concat(tables) if any(x.num_rows for x in tables) else DECISION_SCHEMA.empty_table()
    t = t.cast(DECISION_SCHEMA).sort_by("node")
    path = runstore.local_of(loc)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_parquet(path, t, row_group_size=64 * 1024, compression="zstd")
    runstore.publish(path, loc, options)
    reasons = pc.value_counts(t.column("reason").drop_null()).to_pylist() if t.num_rows else []
    keepers = t.filter(pc.invert(pc.is_valid(t.column("reason")))).column("dup_cluster_size").to_numpy() if t.num_rows else []
    sizes, counts = np.unique(keepers, return_counts=True)
    return {"rows": t.num_rows, "reasons": {r["values"]: r["counts"] for r in reasons},
            "cluster_sizes": dict(zip(sizes.tolist(), counts.tolist()))}


def shard_decisions(decision_dir: str | Path, index: int) -> pa.Table:
    """Decisions for one shard's rows (node >> 32 == index)."""
    files = sorted(str(p) for p in Path(decision_dir).glob("*.parquet"))
    if not files:
        return DECISION_SCHEMA.empty_table()
    lo, hi = int(index) << 32, (int(index) + 1) << 32
    f = (pc.field("node") >= pa.scalar(lo, pa.uint64())) & (pc.field("node") < pa.scalar(hi, pa.uint64()))
    return ds.dataset(files, format="parquet").to_table(filter=f)


def map_lines(src: Source, decision_dir: str, parts: int) -> list[pa.Table]:
    """Line hashes of the documents that survive document-level dedup, one count per document."""
    t = pq.read_table(runstore.fetch(src.path, src.options), columns=["row", "lines"])
    decisions = runstore.fetch_dir(decision_dir, src.options)
    t = t.filter(pa.array(~np.isin(column(t, "row"), dropped_rows(decisions, src.index))))
    h = pc.list_flatten(t.column("lines")).to_numpy(zero_copy_only=False).astype(np.uint64)
    return partition(pa.table({"h": h}), h, parts)


def count_lines(min_docs: int, *tables: pa.Table) -> np.ndarray:
    t = concat(tables)
    if not t.num_rows:
        return np.empty(0, np.uint64)
    vals, counts = np.unique(column(t, "h"), return_counts=True)
    return vals[counts >= min_docs]


def partitions_for(total_bytes: int, memory_mb: int, cpus: int) -> int:
    """Enough partitions that one reduce task's share (with sort and join copies, ~4x) fits ``memory_mb``."""
    return max(2, cpus, math.ceil(total_bytes * 4 / (memory_mb * 1e6)))


def run(ex: Executor, sources: list[Source], s: Settings, work: Path, work_loc: str | None = None,
        options: dict | None = None) -> dict:
    """The whole global plan; returns a summary for stats.json. Writes work/decisions and work/frequent_lines.npy.
    ``work_loc`` names ``work`` on every node (its URL for a run on object storage, where the tasks publish)."""
    work_loc = work_loc or str(work)
    P = s.parts
    mapped = ex.map(map_fingerprints, [(src, s) for src in sources], num_returns=5 * P)
    bands, exact, attrs, urls, sets = ([[m[k * P + p] for m in mapped] for p in range(P)] for k in range(5))
    candidates = transpose(ex.map(group_keys, [(P, *bands[p]) for p in range(P)], num_returns=P), P)
    copies = [r for per_task in ex.map(group_keys, [(P, *exact[p]) for p in range(P)], num_returns=P) for r in per_task]
    if s.verify:
        half = transpose(ex.map(attach_first, [(P, P, *candidates[p], *sets[p]) for p in range(P)], num_returns=P), P)
        edge_refs = ex.map(verify, [(s.threshold, P, *half[p], *sets[p]) for p in range(P)]) + copies
    else:
        edge_refs = [ref for part in candidates for ref in part] + copies
    url_by_node = transpose(ex.map(group_urls, [(P, s.url_keep, *urls[p]) for p in range(P)], num_returns=P), P)
    labels, rounds = components.components(ex, edge_refs, P)
    joined = ex.map(join_members, [(P, len(sources), labels[p], *attrs[p], *url_by_node[p]) for p in range(P)],
                    num_returns=P + 1)
    by_root = transpose([j[:P] for j in joined], P)
    decided = ex.map(choose, [(s.keep, *by_root[p]) for p in range(P)])
    decision_dir = work / "decisions"
    decision_dir.mkdir(parents=True, exist_ok=True)
    for old in decision_dir.glob("*.parquet"):
        old.unlink()
    if storage.is_url(work_loc):
        runstore.remove(f"{work_loc}/decisions", options)
    written = ex.get(ex.map(write_decisions, [(f"{work_loc}/decisions/part-{p:05d}.parquet", options, decided[p], joined[p][P])
                                              for p in range(P)]))
    reasons: Counter = Counter()
    sizes: Counter = Counter()
    for w in written:
        reasons.update(w["reasons"])
        sizes.update(w["cluster_sizes"])
    frequent = np.empty(0, np.uint64)
    if s.line_min_docs:
        local = [src for src in sources if not src.reference]
        lines = transpose(ex.map(map_lines, [(src, f"{work_loc}/decisions", P) for src in local], num_returns=P), P)
        counted = ex.get(ex.map(count_lines, [(s.line_min_docs, *lines[p]) for p in range(P)]))
        frequent = np.unique(np.concatenate(counted)) if counted else frequent
    np.save(work / "frequent_lines.npy", frequent)
    hist = Counter()
    for size, n in sizes.items():
        hist[next(label for label, top in SIZE_BINS if size <= top)] += n
    return {
        "partitions": P, "cc_rounds": rounds, "duplicates": dict(sorted(reasons.items())), "clusters": sum(sizes.values()),
        "cluster_sizes": {label: hist[label] for label, _ in SIZE_BINS},
        "largest_cluster": max(sizes, default=0), "frequent_lines": int(len(frequent)),
    }


def save_summary(work: Path, summary: dict) -> None:
    (work / "plan.json").write_text(json.dumps(summary, indent=1, sort_keys=True))
