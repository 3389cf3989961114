"""Explore pillar: which AI application is worth building.

data.py      the catalogue: use cases joined with the cited market figures that size them
market.py    opportunity scoring (weights, fixed scales, risks as penalties), filters, sensitivity
charts.py    Plotly figures over scored, localised frames
scenarios.py saved explorer scenarios on the store (validation, CRUD, comparison)
"""
