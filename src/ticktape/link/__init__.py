"""Hubs linked through NATS: one origin holds the key, edges on other machines serve clients.

``subjects`` names things on the bus, ``origin`` publishes what the origin hub
receives, ``edge`` is an edge hub's upstream. See docs/nats.md.
"""
