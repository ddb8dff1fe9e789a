"""The Python face of the native DSP core (installed as gateway.dsp)."""

from gateway.dsp.detector_bank import DetectorBank, DetectorEvent, DtmfParams, FskParams, MfParams, ModemToneParams

__all__ = ["DetectorBank", "DetectorEvent", "DtmfParams", "FskParams", "MfParams", "ModemToneParams"]
