"""One module per sub-command, each with ``main(argv) -> int``; ``ticktape.cli`` dispatches.

See docs/architecture.md for the rooms and which way imports flow.
"""
