"""The simulated modem fixture (tests/modem/modem_thread.py has the modem on its pty)."""

import pytest

from tests.modem.modem_thread import SimulatedModemThread


@pytest.fixture
def simulated_modem():
    """A factory: simulated_modem(script, modem_class=..., **line_options) -> a running
    SimulatedModemThread (ended after the test)."""
    started = []

    def start(script: str = "", **options):
        sim = SimulatedModemThread(script, **options).__enter__()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.__exit__(None, None, None)
