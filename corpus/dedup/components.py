"""Connected components of the duplicate graph, computed distributed: Large-Star / Small-Star.

Kiveris et al., "Connected Components in MapReduce and Beyond" (SoCC 2014): alternate two local rewrites
of the edge set, each a group-by on one endpoint, until the graph is a forest of stars centred on each
component's smallest node. It needs O(log^2 n) rounds and never more memory than one partition of edges,
where peers collect every edge on one process for a union-find (the step that runs out of memory for them).

Edges are tables with columns ``a > b`` (uint64 node ids). Each reduce task deduplicates its input,
rewrites it and returns it already partitioned for the next rewrite, plus (count, checksum) of the edge set
it saw; two equal consecutive checksums mean the rewrites reached their fixed point.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from corpus.dedup.exchange import Executor, column, concat, partition, transpose
from corpus.dedup.minhash import mix64

EDGE_SCHEMA = pa.schema([("a", pa.uint64()), ("b", pa.uint64())])
MAX_ROUNDS = 64


def edges(a: np.ndarray, b: np.ndarray) -> pa.Table:
    return pa.Table.from_arrays([pa.array(a, pa.uint64()), pa.array(b, pa.uint64())], schema=EDGE_SCHEMA)


def unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = a != b
    a, b = a[keep], b[keep]
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    first = np.ones(len(a), dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return a[first], b[first]


def _checksum(a: np.ndarray, b: np.ndarray) -> int:
    with np.errstate(over="ignore"):
        return int(np.sum(mix64(a ^ mix64(b)), dtype=np.uint64))


def _groups(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start index of each run of equal values in sorted ``u`` and the run id of every element."""
    starts = np.flatnonzero(np.concatenate([[True], u[1:] != u[:-1]])) if len(u) else np.empty(0, np.int64)
    ids = np.cumsum(np.concatenate([[True], u[1:] != u[:-1]])) - 1 if len(u) else np.empty(0, np.int64)
    return starts, ids


def _orient_both(a: np.ndarray, b: np.ndarray, parts: int) -> list[pa.Table]:
    """Both directions of every edge, partitioned by the first endpoint (large-star's neighbourhoods)."""
    u, v = np.concatenate([a, b]), np.concatenate([b, a])
    return partition(edges(u, v), u, parts)


def _orient_down(a: np.ndarray, b: np.ndarray, parts: int) -> list[pa.Table]:
    """Each edge once as (larger, smaller), partitioned by the larger endpoint (small-star's neighbourhoods)."""
    return partition(edges(a, b), a, parts)


def seed(table: pa.Table, parts: int) -> list[pa.Table]:
    """Map side of the first round: any edges (u, v) -> large-star input."""
    u, v = column(table, "a"), column(table, "b")
    return _orient_both(np.maximum(u, v), np.minimum(u, v), parts)


def large_star(parts: int, *tables: pa.Table) -> list:
    """For each node u with neighbours N(u): link every larger neighbour to m = min(N(u) + {u})."""
    t = concat(tables)
    u, v = unique_pairs(column(t, "a"), column(t, "b")) if t.num_rows else (np.empty(0, np.uint64),) * 2
    canon = u > v
    stats = (int(canon.sum()), _checksum(u[canon], v[canon]))
    starts, ids = _groups(u)
    m = np.minimum(np.minimum.reduceat(v, starts), u[starts]) if len(u) else np.empty(0, np.uint64)
    sel = v > u
    out_a, out_b = v[sel], m[ids[sel]]
    return _orient_down(*unique_pairs(out_a, out_b), parts) + [stats]


def small_star(parts: int, *tables: pa.Table) -> list:
    """For each node u with smaller neighbours N(u): link N(u) + {u} to m = min(N(u))."""
    t = concat(tables)
    u, v = unique_pairs(column(t, "a"), column(t, "b")) if t.num_rows else (np.empty(0, np.uint64),) * 2
    starts, ids = _groups(u)
    m = np.minimum.reduceat(v, starts) if len(u) else np.empty(0, np.uint64)
    mu = m[ids]
    out_a = np.concatenate([v, u[starts]])
    out_b = np.concatenate([mu, m])
    hi, lo = np.maximum(out_a, out_b), np.minimum(out_a, out_b)
    return _orient_both(*unique_pairs(hi, lo), parts)


def final_labels(*tables: pa.Table) -> pa.Table:
    """Converged large-star input (a star per component, both directions): every node with its root,
    the root included, partitioned like the input (by node)."""
    t = concat(tables)
    if not t.num_rows:
        return pa.table({"node": pa.array([], pa.uint64()), "root": pa.array([], pa.uint64())})
    u, v = unique_pairs(column(t, "a"), column(t, "b"))
    starts, _ = _groups(u)
    root = np.minimum(np.minimum.reduceat(v, starts), u[starts])
    return pa.table({"node": pa.array(u[starts], pa.uint64()), "root": pa.array(root, pa.uint64())})


def components(ex: Executor, edge_refs: list, parts: int) -> tuple[list, int]:
    """Label every node that has an edge with its component's smallest node.

    ``edge_refs``: references to edge tables. Returns (references to ``parts`` label tables with columns
    node, root: one row per node that has an edge, partitioned by node; rounds run).
    """
    assert parts >= 2, "partitions come back as separate objects only when there are several"
    current = transpose(ex.map(seed, [(r, parts) for r in edge_refs], num_returns=parts), parts)
    previous = None
    for rounds in range(1, MAX_ROUNDS + 1):
        out = ex.map(large_star, [(parts, *current[p]) for p in range(parts)], num_returns=parts + 1)
        stats = ex.get([o[-1] for o in out])
        state = (sum(s[0] for s in stats), sum(s[1] for s in stats) % (1 << 64))
        if state == previous:
            return ex.map(final_labels, [tuple(current[p]) for p in range(parts)]), rounds
        previous = state
        mid = transpose([o[:-1] for o in out], parts)
        current = transpose(ex.map(small_star, [(parts, *mid[p]) for p in range(parts)], num_returns=parts), parts)
    raise RuntimeError(f"connected components did not converge in {MAX_ROUNDS} rounds; please report this with the run's dedup settings")
