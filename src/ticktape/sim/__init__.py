"""The embedded Polygon-compatible simulator (WebSocket + REST)."""
