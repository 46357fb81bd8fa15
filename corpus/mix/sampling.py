"""How many copies of each document a mixture takes: pure arithmetic on columns, no I/O and no Ray, so it is
tested on its own and gives the same answer on any machine.

Per group g with target T tokens, documents d of t_d tokens and weight w_d (boosts x rehydration):

1. Expected copies ``r_d = min(s * w_d, max_epochs)``, where the scale ``s`` is found by bisection so that
   ``sum r_d * t_d == T`` (water-filling: capped documents give their excess to the others). A group whose
   every document is at the cap still short of T cannot meet its share: the cap, not the arithmetic, decides.
2. Whole copies ``floor(r_d)`` are given; the fractional parts are rounded class by class (documents with the
   same ``r_d``): the class's quota of tokens is taken as a prefix of the group's priority order (best first
   by the group's score, or a seeded random order), rounded to the nearest document, the rounding error
   carried to the next class. So a group misses its target by at most half a document, and "best first"
   means exactly that: within a class, the documents not taken are the lowest-scored ones.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus.mix.spec import Condition, MixError, MixSpec, Select

EPS = 1e-9


def match(table: pa.Table, where: Condition, label: str) -> np.ndarray:
    """Rows matching every condition (null never matches)."""
    mask = np.ones(table.num_rows, dtype=bool)
    for col, val in where.items():
        if col not in table.column_names:
            raise MixError(f"{label}: column {col!r} is not in the curated data; columns there include "
                           f"{', '.join(sorted(c for c in table.column_names if not c.startswith('_'))[:40])}")
        column = table.column(col)
        try:
            if isinstance(val, dict):
                cond = pa.scalar(True)
                if "min" in val:
                    cond = pc.and_(cond, pc.greater_equal(column, val["min"]))
                if "max" in val:
                    cond = pc.and_(cond, pc.less_equal(column, val["max"]))
            elif isinstance(val, list):
                cond = pc.is_in(column, value_set=pa.array(val).cast(column.type))
            else:
                cond = pc.equal(column, pa.scalar(val).cast(column.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            raise MixError(f"{label}: where.{col}: {val!r} cannot be compared with the column's type {column.type} "
                           f"({str(exc).splitlines()[0]})") from None
        mask &= np.asarray(pc.fill_null(cond, False).to_numpy(zero_copy_only=False), dtype=bool)
    return mask


def assign_groups(table: pa.Table, spec: MixSpec) -> np.ndarray:
    """Index of the first group whose ``where`` matches each row, -1 for none."""
    group = np.full(table.num_rows, -1, dtype=np.int32)
    for i, g in enumerate(spec.groups):
        m = match(table, g.where, f"group {g.name}") & (group < 0)
        group[m] = i
    return group


def weights(table: pa.Table, spec: MixSpec) -> np.ndarray:
    w = np.ones(table.num_rows, dtype=np.float64)
    for i, b in enumerate(spec.boosts):
        w[match(table, b.where, f"boost[{i}]")] *= b.factor
    if spec.rehydrate:
        col = spec.rehydrate.column
        if col not in table.column_names:
            raise MixError(f"rehydrate: column {col!r} is not in the curated data (it comes from the dedup stage)")
        sizes = table.column(col).cast(pa.float64()).to_numpy(zero_copy_only=False)
        w *= spec.rehydrate.factor(np.asarray(sizes, dtype=np.float64))
    return w


def priority(table: pa.Table, rows: np.ndarray, select: Select, rng: np.random.Generator) -> np.ndarray:
    """Positions into ``rows``, best first (or in a seeded random order); ties broken by a seeded random draw."""
    tie = rng.random(len(rows))
    if select.by is None:
        return np.argsort(tie, kind="stable")
    if select.by not in table.column_names:
        raise MixError(f"select: score column {select.by!r} is not in the curated data")
    try:
        score = np.asarray(table.column(select.by).take(pa.array(rows)).cast(pa.float64()).to_numpy(zero_copy_only=False),
                           dtype=np.float64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise MixError(f"select: {select.by!r} is not a numeric score ({str(exc).splitlines()[0]})") from None
    missing = np.isnan(score)
    key = np.where(missing, 0.0, score if select.ascending else -score)
    return np.lexsort((tie, key, missing))  # last key sorts first: scored before unscored, then best, then tie


def scale_for(target: float, tokens: np.ndarray, w: np.ndarray, cap: int) -> float:
    """The s with sum(min(s*w, cap) * tokens) == target (target below the group's capacity)."""
    lo, hi = 0.0, cap / float(w.min())
    for _ in range(200):
        mid = (lo + hi) / 2
        if float(np.minimum(mid * w, cap) @ tokens) < target:
            lo = mid
        else:
            hi = mid
    return hi


def round_copies(r: np.ndarray, tokens: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Integer copies from expected copies ``r`` (indexed like ``tokens``), fractional parts taken along ``order``."""
    copies = np.floor(r + EPS).astype(np.int64)
    frac = np.where(r - copies > EPS, r - copies, 0.0)
    carry = 0.0
    classes = np.unique(np.round(frac[frac > 0], 9))[::-1]
    frac_o = np.round(frac[order], 9)
    for fv in classes:
        members = order[frac_o == fv]
        t = tokens[members].astype(np.float64)
        quota = fv * t.sum() + carry
        cum = np.cumsum(t)
        take = (cum - t / 2) <= quota  # a prefix: round to the nearest document
        copies[members[take]] += 1
        carry = quota - (cum[take][-1] if take.any() else 0.0)
    return copies


@dataclasses.dataclass
class Plan:
    copies: np.ndarray  # per row
    group: np.ndarray  # per row, -1 = unassigned
    report: dict


def plan(table: pa.Table, tokens: np.ndarray, spec: MixSpec) -> Plan:
    """Copies per row of ``table`` (the spec's columns, in a canonical row order) with ``tokens`` per row."""
    tokens = np.asarray(tokens, dtype=np.int64)
    group = assign_groups(table, spec)
    w = weights(table, spec)
    n_groups = len(spec.groups)
    unique = np.array([tokens[group == i].sum() for i in range(n_groups)], dtype=np.float64)
    shares = np.array([g.share for g in spec.groups])
    caps = np.array([g.max_epochs for g in spec.groups], dtype=np.float64)
    present = unique > 0
    reasons: dict[int, str] = {i: "no document matches its where" for i in range(n_groups) if not present[i]}
    live = shares * present
    if not live.any():
        raise MixError("no document matches any group's where: check the groups against the data (see `corpus stats`)")
    live = live / live.sum()  # an empty group's share is spread over the others
    budget = float(spec.budget_tokens) if spec.budget_tokens else float(min(unique[present] / live[present]))
    capacity = caps * unique
    targets = live * budget
    short = present & (targets > capacity * (1 + EPS))
    requested = budget
    limiting = np.zeros(n_groups, dtype=bool)
    budget_reason = None
    if short.any() and spec.on_short == "shrink":  # every share holds; the total is what the scarcest group allows
        ratio = np.where(present, capacity / np.where(live > 0, live, 1), np.inf)
        budget = float(ratio.min())
        limiting = present & (ratio <= budget * (1 + EPS))
        targets = live * budget
        budget_reason = "; ".join(
            f"{spec.groups[i].name} has {int(unique[i]):,} tokens of documents, at most {int(caps[i])} epochs = "
            f"{int(capacity[i]):,} tokens, {live[i]:.1%} of {int(budget):,}" for i in np.flatnonzero(limiting)) \
            + f"; the total was shrunk from {int(requested):,} so every share holds (on_short: fill keeps the budget instead)"
    elif short.any():  # fill: the short groups give their missing tokens to the others, in proportion to their shares
        fixed = short.copy()
        while True:
            targets = np.where(fixed, capacity, 0.0)
            rest = budget - targets.sum()
            free = present & ~fixed
            if not free.any():
                break
            targets[free] = live[free] / live[free].sum() * rest
            newly = free & (targets > capacity * (1 + EPS))
            if not newly.any():
                break
            fixed |= newly
        for i in np.flatnonzero(fixed):
            reasons[i] = (f"not enough data: {int(unique[i]):,} tokens of documents, at most {int(caps[i])} epochs = "
                          f"{int(capacity[i]):,} tokens, short of {spec.groups[i].share:.1%} of {int(budget):,}")
        for i in np.flatnonzero(present & ~fixed):
            reasons[i] = "took the tokens the short groups could not give (on_short: fill)"
        targets = np.minimum(targets, capacity)
        if fixed.all() or targets.sum() < budget * (1 - EPS):
            budget_reason = f"every group is at max_epochs: {int(targets.sum()):,} of {int(budget):,} tokens"
    copies = np.zeros(table.num_rows, dtype=np.int64)
    for i, g in enumerate(spec.groups):
        rows = np.flatnonzero(group == i)
        if not len(rows) or targets[i] <= 0:
            continue
        t, wg = tokens[rows], w[rows]
        if targets[i] >= capacity[i] * (1 - EPS):
            r = np.full(len(rows), caps[i])
        else:
            r = np.minimum(scale_for(targets[i], t.astype(np.float64), wg, g.max_epochs) * wg, caps[i])
        order = priority(table, rows, g.select, np.random.default_rng([spec.seed, i]))
        copies[rows] = round_copies(r, t, order)
    report = _report(spec, table, tokens, group, w, copies, unique, targets, budget, reasons)
    for g, lim in zip(report["groups"], limiting):
        g["limits_total"] = bool(lim)
    report["budget"] = {"requested": int(requested), "planned": int(round(min(budget, targets.sum()))),
                        "met": budget_reason is None, "reason": budget_reason}
    report["targets_met"] = report["targets_met"] and budget_reason is None
    return Plan(copies, group, report)


def _report(spec: MixSpec, table: pa.Table, tokens: np.ndarray, group: np.ndarray, w: np.ndarray, copies: np.ndarray,
            unique: np.ndarray, targets: np.ndarray, budget: float, reasons: dict[int, str]) -> dict:
    mixed = tokens * copies
    total = int(mixed.sum())
    groups = []
    for i, g in enumerate(spec.groups):
        m = group == i
        got = int(mixed[m].sum())
        share = got / total if total else 0.0
        groups.append({
            "name": g.name, "where": g.where, "target_share": g.share, "share": round(share, 6),
            "share_error_pp": round((share - g.share) * 100, 3), "documents": int(m.sum()),
            "documents_used": int((copies[m] > 0).sum()), "copies": int(copies[m].sum()), "unique_tokens": int(unique[i]),
            "target_tokens": int(round(targets[i])), "tokens": got,
            "epochs": round(got / unique[i], 4) if unique[i] else 0.0, "max_epochs": g.max_epochs,
            "max_copies_of_a_document": int(copies[m].max()) if m.any() else 0, "select": g.select.describe(),
            "met": i not in reasons, "reason": reasons.get(i),
        })
    boosts = []
    cap_of_row = np.array([g.max_epochs for g in spec.groups] + [0])[group]  # -1 (unassigned) picks the 0
    for k, b in enumerate(spec.boosts):
        hit = match(table, b.where, f"boost[{k}]") & (group >= 0)
        epochs_hit = mixed[hit].sum() / max(tokens[hit].sum(), 1)
        per_group = {}  # epochs of boosted documents over epochs of the others, inside each group (what x3 means)
        for gi in np.unique(group[hit]):
            inside, others = hit & (group == gi), ~hit & (group == gi)
            if tokens[others].sum() and mixed[others].sum():
                per_group[spec.groups[gi].name] = round(float((mixed[inside].sum() / tokens[inside].sum())
                                                              / (mixed[others].sum() / tokens[others].sum())), 3)
        boosts.append({"where": b.where, "factor": b.factor, "documents": int(hit.sum()), "unique_tokens": int(tokens[hit].sum()),
                       "tokens": int(mixed[hit].sum()), "epochs": round(float(epochs_hit), 4),
                       "effective_factor": per_group,
                       "capped_documents": int((hit & (copies >= cap_of_row)).sum())})
        capped = boosts[-1]["capped_documents"]
        boosts[-1]["met"] = capped == 0
        boosts[-1]["reason"] = (f"{capped} boosted document(s) at max_epochs: x{b.factor:g} would need more copies than "
                                f"the cap allows; raise max_epochs or lower the group's share") if capped else None
    none = group < 0
    return {
        "budget_tokens": spec.budget_tokens, "tokens": total,
        "documents": int(table.num_rows), "copies": int(copies.sum()), "groups": groups, "boosts": boosts,
        "unassigned": {"documents": int(none.sum()), "tokens": int(tokens[none].sum())},
        "targets_met": all(g["met"] for g in groups) and all(b["met"] for b in boosts), "max_share_error_pp": max(abs(g["share_error_pp"]) for g in groups),
        "rehydrate": {"column": spec.rehydrate.column, "weights": dict(spec.rehydrate.weights)} if spec.rehydrate else None,
    }
