"""Contiguous partitions of a unit graph balanced on households (networkx underneath).

- :func:`tree_split`: recursive bisection on spanning trees. A spanning tree of a connected
  piece is cut at the edge whose subtree holds the share closest to the wanted one; both sides
  stay connected (they are subtrees). Several trees (minimum spanning trees over the distances
  between units, with seeded noise) are tried per cut and the best-balanced cut is kept. It
  never fails: with lumpy units it returns the best cut there is.
- :func:`from_current`: a start from the current grids (stability): each connected piece of a
  current grid is a group; groups are merged or split until there are ``k``.
- :func:`refine`: local search moving boundary units between neighbouring parts, never
  breaking contiguity: first moves that strictly reduce the sum of squared deviations from
  the goal, then moves that shorten the boundary (fewer cut edges, or less weighted cut
  length when the edges carry a weight ``w``) while every part stays within half the band.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Iterable
from typing import Any

import networkx as nx
import numpy as np


def _connected(adj: dict[int, list[int]], nodes: set[int]) -> bool:
    if not nodes:
        return False
    start = next(iter(nodes))
    seen = {start}
    todo = deque([start])
    while todo:
        for w in adj[todo.popleft()]:
            if w in nodes and w not in seen:
                seen.add(w)
                todo.append(w)
    return len(seen) == len(nodes)


def _spanning_tree(
    edges: np.ndarray, dist: np.ndarray, inside: np.ndarray, noise: float, rng: random.Random
) -> dict[int, list[int]]:
    """Kruskal over the edges with both ends inside, weights = distance × (1 + noise·U)."""
    mask = inside[edges[:, 0]] & inside[edges[:, 1]]
    e = edges[mask]
    w = dist[mask]
    if noise > 0:
        gen = np.random.default_rng(rng.randrange(2**32))
        w = w * (1.0 + noise * gen.random(len(w)))
    root: dict[int, int] = {}

    def find(x: int) -> int:
        while root.get(x, x) != x:
            root[x] = root.get(root[x], root[x])
            x = root[x]
        return x

    tree: dict[int, list[int]] = {}
    for i in np.argsort(w, kind="stable").tolist():
        u, v = int(e[i, 0]), int(e[i, 1])
        ru, rv = find(u), find(v)
        if ru != rv:
            root[ru] = rv
            tree.setdefault(u, []).append(v)
            tree.setdefault(v, []).append(u)
    return tree


def _best_cut(
    tree: dict[int, list[int]], nodes: list[int], pop: np.ndarray, k: int
) -> tuple[float, set[int], int] | None:
    """The cut of the tree closest to a k1 : k-k1 split: (error, side, parts of side)."""
    total = float(pop[nodes].sum())
    root = nodes[0]
    order = [root]
    parent = {root: -1}
    for x in order:  # breadth first; the list grows while we walk it
        for w in tree.get(x, ()):
            if w not in parent:
                parent[w] = x
                order.append(w)
    if len(order) != len(nodes):
        return None
    sub_pop = {u: float(pop[u]) for u in order}
    sub_n = dict.fromkeys(order, 1)
    for u in reversed(order[1:]):
        sub_pop[parent[u]] += sub_pop[u]
        sub_n[parent[u]] += sub_n[u]
    k1 = k // 2
    best: tuple[float, int, int] | None = None
    n = len(nodes)
    for u in order[1:]:
        for ku in sorted({k1, k - k1}):
            if sub_n[u] < ku or n - sub_n[u] < k - ku:
                continue
            err = abs(sub_pop[u] - total * ku / k)
            if best is None or err < best[0]:
                best = (err, u, ku)
    if best is None:
        return None
    err, u, ku = best
    side = {u}
    todo = [u]
    while todo:
        x = todo.pop()
        for w in tree[x]:
            if w != parent[x] and w not in side:
                side.add(w)
                todo.append(w)
    return err, side, ku


def tree_split(
    graph: nx.Graph,
    nodes: Iterable[int],
    pop: np.ndarray,
    xy: np.ndarray,
    k: int,
    *,
    seed: int = 0,
    tries: int = 6,
) -> list[list[int]]:
    """Split a connected set of nodes into ``k`` connected groups of near-equal households."""
    rng = random.Random(seed)
    edges = np.array(sorted((min(e), max(e)) for e in graph.edges()), dtype=np.int64)
    edges = edges.reshape(-1, 2)
    dist = np.hypot(*(xy[edges[:, 0]] - xy[edges[:, 1]]).T) if len(edges) else np.zeros(0)
    out: list[list[int]] = []
    todo = [(sorted(nodes), k)]
    while todo:
        part, kk = todo.pop()
        if kk <= 1 or len(part) <= 1:
            out.append(part)
            continue
        inside = np.zeros(len(xy), dtype=bool)
        inside[part] = True
        best: tuple[float, set[int], int] | None = None
        for t in range(tries):
            noise = 0.0 if t == 0 and seed == 0 else 1.0
            cut = _best_cut(_spanning_tree(edges, dist, inside, noise, rng), part, pop, kk)
            if cut is not None and (best is None or cut[0] < best[0]):
                best = cut
        if best is None:
            out.append(part)
            continue
        _, side, ks = best
        todo.append((sorted(side), ks))
        todo.append((sorted(set(part) - side), kk - ks))
    return sorted(out, key=min)


def from_current(
    graph: nx.Graph,
    nodes: list[int],
    labels: list[str | None],
    pop: np.ndarray,
    xy: np.ndarray,
    k: int,
) -> list[list[int]]:
    """Groups that follow the current grids, merged or split to ``k`` connected groups."""
    node_set = set(nodes)
    by_label: dict[str, list[int]] = {}
    for u in nodes:
        by_label.setdefault(labels[u] or "", []).append(u)
    groups: list[set[int]] = []
    for members in by_label.values():
        groups.extend(set(c) for c in nx.connected_components(graph.subgraph(members)))
    while len(groups) > k:
        groups.sort(key=lambda g: (float(pop[list(g)].sum()), min(g)))
        small = groups.pop(0)
        near = [g for g in groups if any(w in g for u in small for w in graph[u] if w in node_set)]
        if not near:
            groups.append(small)
            break
        target = min(near, key=lambda g: (float(pop[list(g)].sum()), min(g)))
        target |= small
    while len(groups) < k:
        groups.sort(key=lambda g: (-float(pop[list(g)].sum()), min(g)))
        big = groups.pop(0)
        if len(big) < 2:
            groups.append(big)
            break
        groups.extend(set(g) for g in tree_split(graph, big, pop, xy, 2))
    return [sorted(g) for g in sorted(groups, key=min)]


def refine(
    graph: nx.Graph,
    groups: list[list[int]],
    pop: np.ndarray,
    goal: float,
    band: float,
    *,
    max_moves: int = 2000,
    balance_first: bool = True,
) -> list[list[int]]:
    """Move boundary units between parts to balance them, then to shorten the boundaries.

    ``balance_first=False`` skips the first phase: for a partition already within the band
    (the exact method's), only moves that keep both parts within half the band are made.

    The boundary is counted in cut edges, or in their weight ``w`` where edges carry one (with
    a line layer: the shared length, more off the lines, so cuts move onto streets).
    """
    part_of = {u: i for i, g in enumerate(groups) for u in g}
    members = [set(g) for g in groups]
    sizes = np.array([float(pop[list(g)].sum()) for g in groups])
    adj = {u: list(graph[u]) for u in part_of}
    wt = {u: [float(graph[u][w].get("w", 1.0)) for w in adj[u]] for u in part_of}

    def tie(u: int, part: int) -> float:
        """The weight of u's edges into ``part``."""
        return sum(x for w2, x in zip(adj[u], wt[u], strict=True) if part_of.get(w2) == part)

    lo, hi = goal * (1 - band / 2), goal * (1 + band / 2)

    def moves() -> list[tuple[int, int, int]]:
        seen = set()
        for u in sorted(part_of):
            a = part_of[u]
            for w in adj[u]:
                b = part_of.get(w)
                if b is not None and b != a and (u, b) not in seen:
                    seen.add((u, b))
        return sorted((u, part_of[u], b) for u, b in seen)

    def apply(u: int, a: int, b: int) -> None:
        members[a].discard(u)
        members[b].add(u)
        part_of[u] = b
        w = float(pop[u])
        sizes[a] -= w
        sizes[b] += w

    for _ in range(
        max_moves if balance_first else 0
    ):  # phase 1: strictly reduce the sum of squared deviations
        ranked = []
        for u, a, b in moves():
            w = float(pop[u])
            gain = (sizes[a] - goal) ** 2 + (sizes[b] - goal) ** 2
            gain -= (sizes[a] - w - goal) ** 2 + (sizes[b] + w - goal) ** 2
            if gain > 1e-9 and len(members[a]) > 1:
                ranked.append((-gain, tie(u, a) - tie(u, b), u, a, b))
        ranked.sort()
        for *_, u, a, b in ranked:
            if _connected(adj, members[a] - {u}):
                apply(u, a, b)
                break
        else:
            break
    for _ in range(max_moves):  # phase 2: fewer cut edges, parts kept within half the band
        done = False
        for u, a, b in moves():
            w = float(pop[u])
            if tie(u, b) <= tie(u, a) + 1e-9 or len(members[a]) <= 1:
                continue
            if not (lo <= sizes[a] - w and sizes[b] + w <= hi) and w > 0:
                continue
            if _connected(adj, members[a] - {u}):
                apply(u, a, b)
                done = True
                break
        if not done:
            break
    return [sorted(m) for m in members]


def max_deviation(groups: list[list[int]], pop: np.ndarray, goal: float) -> float:
    """The largest |households / goal - 1| over the groups."""
    if goal <= 0 or not groups:
        return math.inf
    return max(abs(float(pop[g].sum()) / goal - 1) for g in groups)


def gerrychain_split(
    graph: nx.Graph, nodes: list[int], pop: np.ndarray, k: int, band: float, *, seed: int = 0
) -> list[list[int]] | None:
    """GerryChain's ``recursive_tree_part`` on the piece; None when it finds no cut.

    Random spanning trees redrawn until a cut within the band appears: a second opinion for
    lumpy pieces where the deterministic trees miss. Attempts are capped (GerryChain's default
    of 100,000 runs for minutes on a piece it cannot split).
    """
    import warnings
    from functools import partial

    from gerrychain import Graph
    from gerrychain.partition import recursive_tree_part
    from gerrychain.tree import bipartition_tree

    sub = nx.Graph(graph.subgraph(nodes))
    for u in sub.nodes:
        sub.nodes[u]["hh"] = int(pop[u])
    split = partial(bipartition_tree, max_attempts=200, warn_attempts=10**9)
    target = float(pop[nodes].sum()) / k
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = recursive_tree_part(
                Graph.from_networkx(sub),
                range(k),
                target,
                "hh",
                band,
                bipartition_tree_fn=split,
                rng=seed,
            )
    except (RuntimeError, ValueError):  # "Could not find a possible cut …"
        return None
    groups: dict[Any, list[int]] = {}
    for u, part in found.items():
        groups.setdefault(part, []).append(u)  # type: ignore[arg-type]
    return sorted((sorted(g) for g in groups.values()), key=min)
