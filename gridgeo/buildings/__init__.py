"""Buildings (楼栋), units (单元), their heads, and units assigned to a grid (migration 0018)."""
