"""From coarse atoms to fine ones, then the exact method: the balancer's whole decision.

:func:`settle` takes the atoms from coarse to fine (``levels``: whole buildings, then large
buildings by unit …) and runs the tree method (:func:`gridgeo.balance.propose.balance`) on each
in turn. The first level on which **every** grid holds ``lo..hi`` households (±band around
``households / k``) wins: buildings are split only when the coarser atoms could not do it.
A level whose precheck already proves it impossible (a building above ``hi``) is skipped.

When no level reaches the band, the exact method (:mod:`gridgeo.balance.exact`) runs on the
finest level: first on the region around the tree's grids that are out of the band (their
neighbours, then theirs: :func:`gridgeo.balance.exact.exact_repair`), then, if that fails, on
the whole area, hinted with the tree's best. It finds a partition (method ``exact``), proves that
none exists for those atoms (status ``infeasible`` with the reason), or runs out of time
(status ``time_limit``). When the finest tree level is not the finest there is (``proof``:
every building by unit), a proof on it is repeated on the finest atoms before it is claimed.
Without a partition within the band the answer is the tree's best, labelled as such.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from gridgeo.balance.exact import (
    TIME_LIMIT_S,
    Exact,
    band_limits,
    exact_partition,
    exact_repair,
    precheck,
)
from gridgeo.balance.partition import refine
from gridgeo.balance.propose import Proposal, balance, make_proposal
from gridgeo.balance.units import Units
from gridgeo.balance.words import Said

Status = Literal["within_band", "infeasible", "time_limit"]
FINE_CANDIDATES = 8  # tree-bisection seeds on the two finest levels
REPAIR_SHARE = 0.5  # of the time limit, for re-solving the region around the grids out of band


@dataclass(frozen=True)
class Settled:
    """The partition chosen, on which atoms, by which method, and why.

    Attributes:
        proposal: the partition (parts index into ``units``).
        units: the atoms it was made of.
        level: the index of that level in ``levels`` (-1: the proof level).
        method: ``tree`` or ``exact``.
        status: ``within_band`` (every grid within the band), ``infeasible`` (proved: no
            contiguous partition within the band exists for the finest atoms tried) or
            ``time_limit`` (the exact method ran out of time; the tree's best is given).
        reason: why, for ``infeasible`` and ``time_limit`` (and what the exact method did).
        exact: the exact method's answer when it ran.
        lo, hi: households a grid may hold.
    """

    proposal: Proposal
    units: Units
    level: int
    method: Literal["tree", "exact"]
    status: Status
    reason: Said | None
    exact: Exact | None
    lo: int
    hi: int


def settle(
    levels: Sequence[Callable[[], Units]],
    k: int,
    band: float,
    *,
    proof: Callable[[], Units] | None = None,
    candidates: int = 3,
    time_limit: float = TIME_LIMIT_S,
    exact: bool = True,
) -> Settled:
    """Balance into ``k`` grids on the coarsest level that allows every grid within the band.

    Args:
        levels: builders of the atoms, coarse to fine (all over the same households).
        k: grids wanted.
        band: tolerance around ``households / k``.
        proof: builder of the finest atoms (every building by unit), used only to confirm a
            proof of impossibility found on the last level; None: the last level is finest.
        candidates: tree-bisection seeds per piece.
        time_limit: seconds for each exact solve.
        exact: False stops after the tree method (status ``time_limit`` never arises then;
            an unproved failure is reported as ``time_limit`` with no exact result).

    Raises:
        InvalidInput: as :func:`gridgeo.balance.propose.balance`.
    """
    best: tuple[float, int, Proposal, Units] | None = None
    lo = hi = 0
    last_units: Units | None = None
    last_tree: Proposal | None = None
    for i, build in enumerate(levels):
        units = build()
        total = int(units.households.sum())
        lo, hi = band_limits(total, k, band) if total else (0, 0)
        final = i == len(levels) - 1
        if not final and precheck(units.graph, units.households, k, lo, hi) is not None:
            continue  # proved impossible on these atoms: finer ones next
        # the last two (finest) levels try more trees: cheaper than the exact step they spare
        # (measured: 2 of the 6 demo communities the exact method could not settle)
        seeds = max(candidates, FINE_CANDIDATES) if i >= len(levels) - 2 else candidates
        p = balance(units, k, band, candidates=seeds, thorough=False)
        dev = _worst(p, lo, hi, total / k)
        if best is None or dev < best[0] - 1e-9:
            best = (dev, i, p, units)
        last_units, last_tree = units, p
        if p.every_grid_within(lo, hi):
            return Settled(p, units, i, "tree", "within_band", None, None, lo, hi)
    assert best is not None and last_units is not None and last_tree is not None
    _, level, tree_best, tree_units = best
    if not exact:
        return Settled(tree_best, tree_units, level, "tree", "time_limit", None, None, lo, hi)
    units = last_units
    on = len(levels) - 1
    start = time.perf_counter()
    spent = 0.0
    if precheck(units.graph, units.households, k, lo, hi) is None:
        repaired, spent = exact_repair(
            units.graph,
            units.households,
            [q.units for q in last_tree.parts],
            lo,
            hi,
            time_limit=time_limit * REPAIR_SHARE,
        )
        if repaired is not None:
            took = round(time.perf_counter() - start, 2)
            said = Said("exact_repaired", s=took, n=len(units), k=k)
            ex = Exact("feasible", repaired, said, took, lo, hi, {"repair": True})
            return _exact_answer(units, repaired, k, band, on, ex, lo, hi)
    left = time_limit - spent
    found = exact_partition(
        units.graph,
        units.households,
        k,
        band,
        time_limit=left,
        hint=[q.units for q in last_tree.parts],
        names=units.names,
    )
    if found.status == "feasible" and found.groups is not None:
        groups = refine(
            units.graph,
            found.groups,
            units.households,
            int(units.households.sum()) / k,
            band,
            balance_first=False,
        )
        p = make_proposal(units, groups, set(), k, k, int(units.households.sum()) / k, band, [], [])
        return Settled(p, units, on, "exact", "within_band", found.reason, found, lo, hi)
    status: Status = "infeasible" if found.status == "infeasible" else "time_limit"
    tree_best.reasons.append(found.reason)
    return Settled(tree_best, tree_units, level, "tree", status, found.reason, found, lo, hi)


def _exact_answer(
    units: Units,
    groups: list[list[int]],
    k: int,
    band: float,
    level: int,
    found: Exact,
    lo: int,
    hi: int,
) -> Settled:
    """The exact method's partition, its boundaries shortened without leaving the band."""
    share = int(units.households.sum()) / k
    groups = refine(units.graph, groups, units.households, share, band, balance_first=False)
    p = make_proposal(units, groups, set(), k, k, share, band, [], [])
    return Settled(p, units, level, "exact", "within_band", found.reason, found, lo, hi)


def _worst(p: Proposal, lo: int, hi: int, share: float) -> float:
    """Worst |households / share - 1| over every grid (missing grids count as 100 %)."""
    if p.k_effective != p.k:
        return 1.0 + max((abs(q.households / share - 1) for q in p.parts), default=0.0)
    return max((abs(q.households / share - 1) for q in p.parts), default=0.0)
