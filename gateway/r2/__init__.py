"""MFC/R2 signalling without I/O: line signalling (``line``), compelled
inter-register signalling (``register``), the variants as data
(``variant``, ``variants/*.toml``) and the channel that joins them
(``channel.R2Channel``)."""

from gateway.r2.channel import R2Channel, R2State
from gateway.r2.variant import R2Variant, get_variant, variants

__all__ = ["R2Channel", "R2State", "R2Variant", "get_variant", "variants"]
