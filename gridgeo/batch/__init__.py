"""Batches beyond one city's database, on Dask: assign, validate, balance (see docs/batch.md).

- :mod:`gridgeo.batch.join`: the database's leaf rule on arrays of points (pure);
- :mod:`gridgeo.batch.geodesic`: metres as PostGIS's geography distance measures them;
- :mod:`gridgeo.batch.assign`: the households of many cities joined on a Dask cluster;
- :mod:`gridgeo.batch.validate`: many boundary files checked in parallel;
- :mod:`gridgeo.batch.cluster`: a LocalCluster or any scheduler, by one option;
- :mod:`gridgeo.batch.synthetic`: synthetic cities and households for tests and benchmarks.
"""
