"""memkb: the persistent memory of an AI orchestrator, as schema-validated YAML in Git.

The public API is the core modules; `memkb.cli` only parses options and renders.
"""

__version__ = "0.1.0"
