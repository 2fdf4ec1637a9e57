"""Balancing grids to the staffing standard (按照300户一职): units, partition, district runs."""
