"""``gridgeo batch assign``: households of many cities to their grids, on a Dask cluster.

The households (GeoParquet files of points) are read as a dask-geopandas frame and put in
space order (``spatial_shuffle`` by Hilbert distance, as dask-geopandas does it), so that each
partition covers a compact piece of the map and touches few grids. The grids are small next to
the households (a province's grids are tens of megabytes) and are broadcast: every worker
receives them once and indexes them once (:class:`~gridgeo.batch.join.GridIndex`, kept per
process), then joins each partition it is given with the database's rule
(:func:`~gridgeo.batch.join.assign_frame`) and writes it as one GeoParquet file. A task returns
the partition's counts per grid and its own timings; the driver adds them up into a summary.

Output: ``OUT/part.N.parquet`` (GeoParquet: the input's columns with ``grid_code``,
``grid_depth``, ``nearest_code``, ``nearest_m``), ``OUT/_summary.json`` and ``OUT/_counts.csv``
(households per grid). Files starting with ``_`` are skipped by Parquet readers.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dask
import dask_geopandas
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from dask.utils import key_split
from distributed import Client, get_task_stream

from gridgeo.batch.join import GridIndex, assign_frame
from gridgeo.errors import InvalidInput

_INDEXES: dict[str, GridIndex] = {}  # per process: the grids of the batches it has joined
_LOCK = threading.Lock()

SUMMARY = "_summary.json"
COUNTS = "_counts.csv"


def grids_payload(grids: gpd.GeoDataFrame) -> dict[str, Any]:
    """The grids as a compact, picklable payload (WKB), tagged with a token of their content."""
    wkb = shapely.to_wkb(grids.geometry.to_numpy())
    codes = grids["code"].astype(str).to_numpy(dtype=object)
    depths = grids["depth"].astype("int64").to_numpy()
    token = dask.base.tokenize(list(codes), depths, list(wkb))
    return {"token": token, "codes": codes, "depths": depths, "wkb": wkb}


def grid_index(payload: dict[str, Any]) -> GridIndex:
    """The GridIndex of a payload, built once per process."""
    with _LOCK:
        index = _INDEXES.get(payload["token"])
        if index is None:
            _INDEXES.clear()  # one batch's grids at a time
            geoms = shapely.from_wkb(payload["wkb"])
            index = GridIndex.build(payload["codes"], payload["depths"], geoms)
            _INDEXES[payload["token"]] = index
        return index


def join_partition(
    frame: gpd.GeoDataFrame,
    payload: dict[str, Any],
    out: str,
    partition_info: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Join one partition, write it, return its counts per grid and its timings.

    Returns:
        Rows ``what`` = ``grid`` (``code``, ``points``, ``households``; code ``""`` for points
        outside every grid) and one row ``what`` = ``task`` with ``index_s``, ``join_s``,
        ``write_s`` and ``points``.
    """
    number = 0 if partition_info is None else int(partition_info["number"])
    t0 = time.perf_counter()
    index = grid_index(payload)
    t1 = time.perf_counter()
    joined = assign_frame(index, frame)
    t2 = time.perf_counter()
    if len(frame):
        gpd.GeoDataFrame(joined, geometry=frame.geometry.name, crs=frame.crs).to_parquet(
            Path(out) / f"part.{number}.parquet", index=False
        )
    t3 = time.perf_counter()
    if "household_count" in joined.columns:
        counts = joined["household_count"].astype("int64")
    else:
        counts = pd.Series(1, index=joined.index, dtype="int64")
    code = joined["grid_code"].fillna("")
    g = pd.DataFrame({"code": code, "households": counts}).groupby("code", sort=False)
    rows = pd.DataFrame(
        {
            "what": "grid",
            "code": g.size().index.astype(str),
            "points": g.size().to_numpy(),
            "households": g["households"].sum().to_numpy(),
        }
    )
    task = pd.DataFrame(
        {
            "what": ["task"],
            "code": [str(number)],
            "points": [len(frame)],
            "households": [int(counts.sum())],
            "index_s": [t1 - t0],
            "join_s": [t2 - t1],
            "write_s": [t3 - t2],
        }
    )
    return pd.concat([rows, task], ignore_index=True)


_META = pd.DataFrame(
    {
        "what": pd.Series(dtype=object),
        "code": pd.Series(dtype=object),
        "points": pd.Series(dtype="int64"),
        "households": pd.Series(dtype="int64"),
        "index_s": pd.Series(dtype="float64"),
        "join_s": pd.Series(dtype="float64"),
        "write_s": pd.Series(dtype="float64"),
    }
)


def batch_assign(
    client: Client,
    grids: gpd.GeoDataFrame,
    households: str | list[str],
    out: Path,
    *,
    npartitions: int | None = None,
) -> dict[str, Any]:
    """Assign every household of ``households`` (GeoParquet files) to its grid on ``client``.

    Args:
        client: a Dask client (:func:`gridgeo.batch.cluster.dask_client`).
        grids: ``code``, ``depth``, ``geometry`` (:func:`gridgeo.batch.grids.read_grids`).
        households: a glob or list of GeoParquet files of points; optional columns
            ``external_id`` and ``household_count`` (households at the point; else 1).
        out: a directory to create (it must not hold Parquet files already).
        npartitions: partitions after the spatial shuffle (default: as many as read).

    Returns:
        The summary (also written to ``out/_summary.json``).

    Raises:
        InvalidInput: no files, not points, or an output directory holding Parquet files.
    """
    start = time.perf_counter()
    out = Path(out)
    if out.exists() and any(out.glob("*.parquet")):
        raise InvalidInput(f"{out} already holds Parquet files; give a new directory", field="out")
    out.mkdir(parents=True, exist_ok=True)
    # the task stream from the first read: spatial_shuffle reads every file once to find the
    # Hilbert divisions before the graph runs, and that pass is work, not idle
    with get_task_stream(client) as stream, _memory_sampler(client) as memory:
        try:
            ddf = dask_geopandas.read_parquet(households)
        except (OSError, ValueError, IndexError) as exc:
            raise InvalidInput(
                f"{households}: no readable GeoParquet ({exc})", field="households"
            ) from exc
        if ddf.crs is not None and not ddf.crs.equals("EPSG:4326"):
            ddf = ddf.to_crs(4326)
        shuffled = ddf.spatial_shuffle(by="hilbert", npartitions=npartitions or ddf.npartitions)
        [payload] = client.scatter([grids_payload(grids)], broadcast=True, hash=False)
        parts = shuffled.map_partitions(join_partition, payload, str(out), meta=_META)
        result = parts.compute()
    wall = time.perf_counter() - start
    summary = _summary(result, grids, wall, stream.data, memory, client, shuffled.npartitions)
    (out / SUMMARY).write_text(json.dumps(summary, ensure_ascii=False, indent=1), "utf-8")
    counts = result[result["what"] == "grid"].groupby("code")[["points", "households"]].sum()
    counts.reset_index().to_csv(out / COUNTS, index=False)
    return summary


def _summary(
    result: pd.DataFrame,
    grids: gpd.GeoDataFrame,
    wall: float,
    stream: list[dict[str, Any]],
    memory: dict[str, int],
    client: Client,
    partitions: int,
) -> dict[str, Any]:
    per = result[result["what"] == "grid"].groupby("code")[["points", "households"]].sum()
    tasks = result[result["what"] == "task"]
    outside = per.loc[""].to_dict() if "" in per.index else {"points": 0, "households": 0}
    inside = per.drop(index="", errors="ignore")
    workers = len(client.scheduler_info(n_workers=-1)["workers"])
    phases = task_phases(stream, wall, workers)
    return {
        "points": int(per["points"].sum()),
        "households": int(per["households"].sum()),
        "assigned_points": int(inside["points"].sum()),
        "outside_points": int(outside["points"]),
        "outside_households": int(outside["households"]),
        "grids": len(grids),
        "grids_with_households": len(inside),
        "partitions": partitions,
        "workers": workers,
        "seconds": round(wall, 3),
        "join_seconds": round(float(tasks["join_s"].sum()), 3),
        "write_seconds": round(float(tasks["write_s"].sum()), 3),
        "index_seconds": round(float(tasks["index_s"].sum()), 3),
        "partition_points_median": int(np.median(tasks["points"])) if len(tasks) else 0,
        "phases": phases,
        "peak_memory_bytes": memory,
    }


def task_phases(stream: list[dict[str, Any]], wall: float, workers: int) -> dict[str, float]:
    """Worker-seconds per kind of task (by key prefix), in transfers, and the rest.

    The rest (``idle``) is the workers' time (``workers x wall``) in no task and no transfer:
    waiting for the scheduler, for the driver's graph, or for work (the scheduler's share).
    """
    out: dict[str, float] = defaultdict(float)
    for task in stream:
        for ss in task.get("startstops", ()):
            took = float(ss["stop"] - ss["start"])
            if ss["action"] == "compute":
                out[key_split(task["key"])] += took
            else:
                out[ss["action"]] += took
    busy = sum(out.values())
    out["idle"] = max(0.0, workers * wall - busy)
    return {k: round(v, 3) for k, v in sorted(out.items())}


@contextmanager
def _memory_sampler(client: Client, every: float = 0.5) -> Iterator[dict[str, int]]:
    """The peak memory (RSS, bytes) of each worker while the block runs, sampled."""
    peak: dict[str, int] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            try:
                info = client.scheduler_info(n_workers=-1)["workers"]
            except (OSError, RuntimeError):  # the cluster closing ends the sampling
                return
            for addr, w in info.items():
                mem = int(w.get("metrics", {}).get("memory", 0))
                peak[addr] = max(peak.get(addr, 0), mem)
            stop.wait(every)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join(timeout=5)
