"""The exact method: a contiguous partition within the band, found or proved impossible.

The tree method (:mod:`gridgeo.balance.partition`) is a heuristic: when it finds no partition
with every grid within the band, that says nothing about whether one exists. This module
answers the question for the given atoms:

1. Quick proofs (:func:`precheck`), each a sentence a planner can check by hand:
   an atom with more households than a grid may hold (the unavoidable atom, named);
   more grids than atoms; a piece of the graph (an island, or a piece cut off) whose
   households fit no whole number of grids within the band (the counting argument).
2. Otherwise OR-Tools CP-SAT (:func:`exact_partition`) on the model below, within a time
   limit; it answers ``feasible`` (a partition, every grid within the band and contiguous),
   ``infeasible`` (a proof: none exists for these atoms) or ``unknown`` (out of time).

The model, for atoms ``v`` and grids ``p``: ``x[v,p]`` (atom v in grid p, exactly one p per
atom); ``lo ≤ Σ households·x[·,p] ≤ hi``. Contiguity by a single-commodity flow: each grid
has one root, the lowest-numbered atom of the grid (which breaks the k! symmetry of the
labels: roots increase with p, and no atom below a grid's root is in it); flow runs only
along edges whose two ends are in the same grid (``same[e]``), each non-root atom consumes
one unit, so every atom is joined to its grid's root by a path inside the grid. Solutions of
the tree method are passed as a hint.

Measured on the unit tests' graphs (2-core machine): proofs and solutions on 10–30 atoms in
0.01–0.1 s; on demo communities (60–200 atoms, k ≈ 12) see docs/benchmarks.md.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import networkx as nx
import numpy as np

from gridgeo.balance.words import Said

Status = Literal["feasible", "infeasible", "unknown"]
CONTIGUITY = "parents"  # or "flow": the two encodings of contiguity (see _parents, _flow)
# no LP relaxation: with big-M links it only slows the search (measured on demo repairs:
# 1.2 s against more than 6 s for the same 50-atom region)
SOLVER_PARAMS: dict[str, Any] = {"linearization_level": 0}
SOLVE_OVERHEAD = 0.01  # counted per repair solve besides its solver time: bounds their number
WALL_FACTOR = 4.0  # wall-clock cap, as a multiple of the deterministic limit
TIME_LIMIT_S = (
    5.0  # default: up to half for the repair around the grids out of band, the rest whole
)


@dataclass(frozen=True)
class Exact:
    """The exact method's answer.

    Attributes:
        status: ``feasible`` (``groups`` within the band), ``infeasible`` (proved: no
            contiguous partition within the band exists for these atoms) or ``unknown``
            (the time limit ran out first).
        groups: the partition (atom lists) when feasible, else None.
        reason: why (the unavoidable atom, the counting argument, the solver's proof or its
            time limit), as words in both languages.
        seconds: time spent, precheck included.
        lo, hi: the households a grid may hold.
    """

    status: Status
    groups: list[list[int]] | None
    reason: Said
    seconds: float
    lo: int
    hi: int
    detail: dict[str, Any] = field(default_factory=dict)


def band_limits(total: int, k: int, band: float) -> tuple[int, int]:
    """The whole households a grid may hold: within ``±band`` of ``total / k``."""
    share = total / k
    return math.ceil(share * (1 - band) - 1e-9), math.floor(share * (1 + band) + 1e-9)


def precheck(
    graph: nx.Graph,
    pop: np.ndarray,
    k: int,
    lo: int,
    hi: int,
    names: Sequence[str] | None = None,
) -> Said | None:
    """A short proof that no contiguous partition within [lo, hi] exists, or None.

    Args:
        graph: the atoms' adjacency (nodes 0..n-1).
        pop: households per atom.
        k: grids wanted.
        lo: the fewest households a grid may hold.
        hi: the most households a grid may hold.
        names: a name per atom for the answer (default ``#i``).
    """
    n = len(pop)
    label = (lambda u: names[u]) if names is not None else (lambda u: f"#{u}")
    if k > n:
        return Said("more_grids_than_atoms", k=k, n=n)
    if lo > hi:
        return Said("empty_band", lo=lo, hi=hi)
    big = int(np.argmax(pop)) if n else -1
    if n and int(pop[big]) > hi:
        return Said("unavoidable_atom", atom=label(big), households=int(pop[big]), hi=hi)
    low = high = 0
    for comp in sorted(nx.connected_components(graph.subgraph(range(n))), key=min):
        total = int(pop[list(comp)].sum())
        m_min, m_max = math.ceil(total / hi), total // lo if lo > 0 else len(comp)
        m_max = min(m_max, len(comp))
        if m_min > m_max:
            return Said(
                "piece_fits_no_grids",
                atoms=len(comp),
                first=label(min(comp)),
                households=total,
                lo=lo,
                hi=hi,
            )
        low, high = low + m_min, high + m_max
    if not low <= k <= high:
        return Said("pieces_need_other_k", k=k, low=low, high=high, lo=lo, hi=hi)
    return None


def exact_partition(
    graph: nx.Graph,
    pop: Sequence[int] | np.ndarray,
    k: int,
    band: float,
    *,
    time_limit: float = TIME_LIMIT_S,
    hint: list[list[int]] | None = None,
    names: Sequence[str] | None = None,
    workers: int = 1,
    limits: tuple[int, int] | None = None,
) -> Exact:
    """A partition of the atoms into ``k`` contiguous grids within the band, or a proof.

    Args:
        graph: adjacency of the atoms (nodes 0..n-1).
        pop: households per atom.
        k: grids wanted.
        band: tolerance around ``total / k`` (0.1 = ±10 %).
        time_limit: seconds the solver may take.
        hint: a partition to start from (the tree method's), any order.
        names: a name per atom, used in the reasons.
        workers: CP-SAT search workers (1: deterministic, and fair to the other processes).
        limits: the households a grid may hold, when not ``±band`` around ``total / k``
            (a part of an area, repaired with the whole area's band).
    """
    start = time.perf_counter()
    pop = np.asarray(pop, dtype=np.int64)
    n = len(pop)
    lo, hi = limits if limits is not None else band_limits(int(pop.sum()), k, band)
    why = precheck(graph, pop, k, lo, hi, names)
    if why is not None:
        return Exact("infeasible", None, why, time.perf_counter() - start, lo, hi)
    if k == 1:  # precheck passed: the one piece fits
        return Exact(
            "feasible",
            [list(range(n))],
            Said("exact_found", s=0.0, n=n, k=k),
            time.perf_counter() - start,
            lo,
            hi,
        )
    status, groups, info = _solve(graph, pop, k, lo, hi, time_limit, hint, workers)
    took = time.perf_counter() - start
    if status == "feasible":
        reason = Said("exact_found", s=round(took, 2), n=n, k=k)
    elif status == "infeasible":
        reason = Said("exact_proved", s=round(took, 2), n=n, k=k, lo=lo, hi=hi)
    else:
        reason = Said("exact_time_limit", limit=time_limit, n=n, k=k)
    return Exact(status, groups, reason, took, lo, hi, info)


def _solve(
    graph: nx.Graph,
    pop: np.ndarray,
    k: int,
    lo: int,
    hi: int,
    time_limit: float,
    hint: list[list[int]] | None,
    workers: int,
) -> tuple[Status, list[list[int]] | None, dict[str, Any]]:
    from ortools.sat.python import cp_model

    n = len(pop)
    m = cp_model.CpModel()
    # x[v][p] exists only for p ≤ v: grid p's root is its lowest atom, roots increase with p
    x = [{p: m.new_bool_var(f"x{v}_{p}") for p in range(min(v, k - 1) + 1)} for v in range(n)]
    r = [{p: m.new_bool_var(f"r{v}_{p}") for p in x[v]} for v in range(n)]
    for v in range(n):
        m.add_exactly_one(x[v].values())
        m.add_at_most_one(r[v].values())
        for p in x[v]:
            m.add_implication(r[v][p], x[v][p])
    root = []
    for p in range(k):
        m.add(sum(int(pop[v]) * x[v][p] for v in range(p, n)) >= lo)
        m.add(sum(int(pop[v]) * x[v][p] for v in range(p, n)) <= hi)
        m.add_exactly_one(r[v][p] for v in range(p, n))
        rp = m.new_int_var(p, n - 1, f"root{p}")
        m.add(rp == sum(v * r[v][p] for v in range(p, n)))
        root.append(rp)
        for v in range(p, n):
            m.add(rp <= v).only_enforce_if(x[v][p])
    for p in range(k - 1):
        m.add(root[p] < root[p + 1])
    if CONTIGUITY == "flow":
        _flow(m, graph, x, r, n, k)
    else:
        # a grid holds at most `most` atoms (the smallest ones summing to ≤ hi): depth < most
        most = int(np.searchsorted(np.cumsum(np.sort(pop)), hi, side="right"))
        _parents(m, graph, x, r, n, max(1, min(n, most)))
    if hint:
        for p, g in enumerate(sorted((sorted(g) for g in hint if g), key=min)):
            if p >= k:
                break
            for v in g:
                for q, var in x[v].items():
                    m.add_hint(var, q == p)
    solver = cp_model.CpSolver()
    # the limit is CP-SAT's deterministic time, so that an answer does not depend on how
    # busy the machine is; wall time is only a safety cap
    solver.parameters.max_deterministic_time = float(time_limit)
    solver.parameters.max_time_in_seconds = float(time_limit) * WALL_FACTOR
    solver.parameters.num_search_workers = max(1, workers)
    for key, value in SOLVER_PARAMS.items():
        setattr(solver.parameters, key, value)
    code = solver.solve(m)
    info = {
        "conflicts": solver.num_conflicts,
        "branches": solver.num_branches,
        "deterministic_s": round(solver.deterministic_time, 3),
    }
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        groups: list[list[int]] = [[] for _ in range(k)]
        for v in range(n):
            groups[next(p for p, var in x[v].items() if solver.value(var))].append(v)
        return "feasible", groups, info
    if code == cp_model.INFEASIBLE:
        return "infeasible", None, info
    return "unknown", None, info


def _flow(m: Any, graph: nx.Graph, x: list[dict[int, Any]], r: list[dict[int, Any]], n: int,
          k: int) -> None:  # fmt: skip
    """Contiguity by a single-commodity flow from each grid's root along same-grid edges."""
    cap = n - k + 1
    inflow: list[list[Any]] = [[] for _ in range(n)]
    outflow: list[list[Any]] = [[] for _ in range(n)]
    for u, v in graph.edges():
        if u >= n or v >= n or u == v:
            continue
        same = m.new_bool_var(f"s{u}_{v}")
        for p in range(k):
            a, b = x[u].get(p), x[v].get(p)
            if a is None and b is None:
                continue
            if a is None or b is None:  # one end cannot be in p: same grid means not p
                m.add_implication(same, (a if b is None else b).Not())
            else:
                m.add(a == b).only_enforce_if(same)
        for s, t in ((u, v), (v, u)):
            f = m.new_int_var(0, cap, f"f{s}_{t}")
            m.add(f == 0).only_enforce_if(same.Not())
            outflow[s].append(f)
            inflow[t].append(f)
    for v in range(n):
        m.add(sum(inflow[v]) - sum(outflow[v]) >= 1 - cap * sum(r[v].values()))


def _parents(
    m: Any, graph: nx.Graph, x: list[dict[int, Any]], r: list[dict[int, Any]], n: int, most: int
) -> None:
    """Contiguity by parents, one step nearer the root each.

    Every non-root atom has exactly one parent among its neighbours in its grid, at depth one
    less (``d``), so following parents from any atom reaches its grid's root. Propagates
    better than the flow (measured: a 53-atom repair in 2.8 s against 5.4 s).
    """
    label = []
    depth = []
    is_root = []
    for v in range(n):
        a = m.new_int_var(0, max(x[v]), f"a{v}")
        m.add(a == sum(p * var for p, var in x[v].items()))
        label.append(a)
        depth.append(m.new_int_var(0, most - 1, f"d{v}"))
        ro = m.new_bool_var(f"ro{v}")
        m.add(ro == sum(r[v].values()))
        m.add(depth[v] == 0).only_enforce_if(ro)
        m.add(depth[v] >= 1).only_enforce_if(ro.Not())
        is_root.append(ro)
    parents: list[list[Any]] = [[] for _ in range(n)]
    for u, v in graph.edges():
        if u >= n or v >= n or u == v:
            continue
        for s, t in ((u, v), (v, u)):
            y = m.new_bool_var(f"y{s}_{t}")
            m.add(label[s] == label[t]).only_enforce_if(y)
            m.add(depth[t] == depth[s] + 1).only_enforce_if(y)
            parents[t].append(y)
    for v in range(n):
        m.add_exactly_one([*parents[v], is_root[v]])


def exact_repair(
    graph: nx.Graph,
    pop: Sequence[int] | np.ndarray,
    groups: list[list[int]],
    lo: int,
    hi: int,
    *,
    time_limit: float = TIME_LIMIT_S,
    rings: int = 3,
) -> tuple[list[list[int]] | None, float]:
    """Re-solve only the grids out of ``lo..hi`` and their neighbours, exactly.

    A large-neighbourhood search: the tree method's grids that are within the band stay,
    except a chain of two, then three neighbouring grids from one that is not (then the rings
    of neighbours around all that are not); CP-SAT re-partitions that region into as many
    grids, each within ``lo..hi``, and the search goes on from the result. Small regions solve
    in milliseconds where the whole area may not; proving impossibility is left to the whole
    area.

    Returns:
        The repaired partition (every grid within ``lo..hi``) or None, and the solver time
        spent (CP-SAT's deterministic seconds; ``time_limit`` is counted in them too).
    """
    pop = np.asarray(pop, dtype=np.int64)
    spent = 0.0
    sizes = [int(pop[g].sum()) for g in groups]
    bad = {i for i, s in enumerate(sizes) if not lo <= s <= hi}
    if not bad:
        return groups, spent
    part_of = {u: i for i, g in enumerate(groups) for u in g}
    near = nx.Graph()
    near.add_nodes_from(range(len(groups)))
    near.add_edges_from(
        (part_of[a], part_of[b])
        for a, b in graph.edges()
        if a in part_of and b in part_of and part_of[a] != part_of[b]
    )

    def solve_parts(sel: Sequence[int], limit: float) -> list[list[int]] | None:
        """``sel``'s grids re-partitioned into as many, each within lo..hi; the new groups."""
        nonlocal spent
        nodes = sorted(u for i in sel for u in groups[i])
        index = {u: j for j, u in enumerate(nodes)}
        sub = nx.relabel_nodes(graph.subgraph(nodes), index)
        hint = [[index[u] for u in groups[i]] for i in sel]
        found = exact_partition(
            sub, pop[nodes], len(sel), 0.0, time_limit=limit, hint=hint, limits=(lo, hi)
        )
        spent += float(found.detail.get("deterministic_s", 0.0)) + SOLVE_OVERHEAD
        if found.status != "feasible" or found.groups is None:
            return None
        return [g for i, g in enumerate(groups) if i not in sel] + [
            [nodes[j] for j in g] for g in found.groups
        ]

    # chains of two, then three neighbouring grids from a grid out of the band: small models
    # that solve in milliseconds; the excess is passed along the chain
    worst_first = sorted(bad, key=lambda i: -abs(sizes[i] - (lo + hi) / 2))
    for length, share in ((2, 0.2), (3, 0.45)):
        for b in worst_first:
            for chain in _chains(near, b, length):
                left = time_limit * share - spent
                if left <= 0:
                    break
                found = solve_parts(chain, min(left, 0.3))
                if found is not None:
                    rest, more = exact_repair(
                        graph, pop, found, lo, hi, time_limit=time_limit - spent, rings=rings
                    )
                    return rest, spent + more
    chosen = set(bad)
    for r in range(rings):  # then the rings around them, whole
        chosen |= {w for i in chosen for w in near[i]}
        left = (time_limit - spent) / (rings - r)
        if left <= 0:
            return None, spent
        found = solve_parts(sorted(chosen), left)
        if found is not None:
            return found, spent
    return None, spent


def _chains(near: nx.Graph, start: int, length: int) -> list[list[int]]:
    """Simple paths of ``length`` grids from ``start`` in the grids' adjacency."""
    paths = [[start]]
    for _ in range(length - 1):
        paths = [p + [w] for p in paths for w in sorted(near[p[-1]]) if w not in p]
    return paths
