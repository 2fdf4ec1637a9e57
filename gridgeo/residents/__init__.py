"""The resident's end of the incident loop.

Residents raise and rate matters (居民提事·评事), the grid deliberates (网格议事·会议定事),
volunteers claim requests (党员领单).
"""
