"""Pieces shared by the pages: the map and legend, the data-freshness sign."""
