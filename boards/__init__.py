"""Board kinds, the board protocol and transports (installed as gateway.boards).

Board support arrives with the boards issue; the package exists now so that the
folder-to-package mapping of pyproject.toml is in place from the start.
"""
