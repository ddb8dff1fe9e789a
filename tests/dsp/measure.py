"""Measurements of generated audio shared by the generator tests."""

import numpy as np

RATE = 8000


def amplitudes(x, freqs):
    """Least-squares amplitude of a sinusoid at each frequency; exact for any
    length, whole cycles or not."""
    t = np.arange(len(x))
    columns = []
    for f in freqs:
        columns += [np.sin(2 * np.pi * f * t / RATE), np.cos(2 * np.pi * f * t / RATE)]
    coef, *_ = np.linalg.lstsq(np.column_stack(columns), np.asarray(x, np.float64), rcond=None)
    return np.hypot(coef[0::2], coef[1::2])
