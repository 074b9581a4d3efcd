"""ticktape: a keyboard-driven terminal market monitor for Polygon.io / Massive data."""

__version__ = "0.1.0"
