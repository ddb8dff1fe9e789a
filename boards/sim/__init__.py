"""The simulated telephone network behind the simulated boards (see
``lineside`` for how a board simulator and the network meet)."""
