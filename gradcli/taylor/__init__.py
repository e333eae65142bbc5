"""Taylor mode: series arithmetic (series.py) and the derivative engine (engine.py)."""
