"""Folium map builders (layers, styles, legends); they take data, never a database."""
