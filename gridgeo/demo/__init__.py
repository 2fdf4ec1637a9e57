"""The demo city (奎文区): roads, areas, households and incidents."""
