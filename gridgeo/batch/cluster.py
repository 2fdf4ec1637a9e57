"""Where the batches run: a Dask cluster of this machine, or any Dask scheduler by its address.

One option switches between them (``--scheduler`` on the command line,
``GRIDGEO_BATCH_SCHEDULER`` for the server's ``POST /balance`` with ``scope=all``): empty, a
``LocalCluster`` of ``workers`` processes is started and closed around the work; an address
(``tcp://host:8786``) connects to a running scheduler (dask-kubernetes, dask-jobqueue, a cloud
service), whose workers must have gridgeo installed (the tasks are gridgeo's functions). Tests run with ``processes=False`` (the
workers are threads of the test process: no spawn, nothing left behind).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # distributed takes seconds to import: only the runs that use it pay
    from distributed import Client

    from gridgeo.settings import BatchSettings


@dataclass(frozen=True)
class ClusterSpec:
    """How to reach the workers.

    Attributes:
        scheduler: a Dask scheduler address; empty for a LocalCluster of this machine.
        workers: LocalCluster workers (default: the CPUs, at most 4).
        threads: threads per worker (1: the kernels hold the GIL in Python code).
        processes: LocalCluster workers as processes (False: threads of this process).
        memory_limit: per LocalCluster worker, e.g. ``"2GB"``; ``"auto"`` shares the RAM.
    """

    scheduler: str = ""
    workers: int | None = None
    threads: int = 1
    processes: bool = True
    memory_limit: str = "auto"

    @property
    def local(self) -> bool:
        """True when a LocalCluster is started for the work."""
        return not self.scheduler


def from_settings(batch: BatchSettings) -> ClusterSpec:
    """The cluster the server's settings name (``GRIDGEO_BATCH_*``)."""
    return ClusterSpec(
        scheduler=batch.batch_scheduler,
        workers=batch.batch_workers or None,
        processes=batch.batch_processes,
    )


def default_workers() -> int:
    """The CPUs of this machine, at most 4."""
    return min(4, os.cpu_count() or 1)


@contextmanager
def dask_client(spec: ClusterSpec) -> Iterator[Client]:
    """A client of the cluster ``spec`` names; a LocalCluster is closed on the way out."""
    from distributed import Client, LocalCluster

    if not spec.local:
        client = Client(spec.scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=spec.workers or default_workers(),
        threads_per_worker=spec.threads,
        processes=spec.processes,
        memory_limit=spec.memory_limit,
        dashboard_address=":0",  # a free port: no clash with another cluster here
        silence_logs=logging.ERROR,
    )
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()
