"""The ``gridgeo`` command line, apart from the web (it may import every package)."""
