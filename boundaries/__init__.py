"""The planner's boundary lifecycle: file import, validation and repair (more to come).

The import core here is shared by the command line and the web API; both call
:func:`import_grids` and :func:`import_households` and show the :class:`ImportReport`.
"""

from boundaries.households import import_households
from boundaries.importer import import_grids
from boundaries.io import read_features
from boundaries.report import ImportRejected, ImportReport, Problem

__all__ = [
    "ImportRejected",
    "ImportReport",
    "Problem",
    "import_grids",
    "import_households",
    "read_features",
]
