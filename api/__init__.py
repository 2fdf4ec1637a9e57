"""The FastAPI application of gridgeo: thin adapters over gridgeo, boundaries and maps."""
