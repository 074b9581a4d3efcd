"""The hub: one upstream connection shared by every local client.

See docs/hub.md.
"""
