"""The Polygon-protocol server engine shared by the simulator, the replay server and the hub.

A source pushes events per cluster; the engine filters them per connection and
moves the bytes. See docs/hub.md.
"""
