"""The evaluation of the closed loop (综合评价): figures per area, department, worker, category.

Definitions and formulas: :mod:`gridgeo.evaluation.figures` (docs/evaluation.md); the periods:
:mod:`gridgeo.evaluation.periods`; the statement: :mod:`gridgeo.evaluation.query`.
"""

from gridgeo.evaluation.evaluate import evaluate, state_counts, trend

__all__ = ["evaluate", "state_counts", "trend"]
