"""The app in a browser tab: textual-serve with a token, a process cap and a clean environment.

See docs/serve.md.
"""
