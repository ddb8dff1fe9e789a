"""The linegate command line (installed as gateway.tools)."""
