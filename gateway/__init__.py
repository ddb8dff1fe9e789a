"""Linegate: the control plane of a telephony gateway.

The top-level folders dsp/, boards/ and tools/ install as gateway.dsp,
gateway.boards and gateway.tools (see ARCHITECTURE.md).
"""

__version__ = "0.1.0"
