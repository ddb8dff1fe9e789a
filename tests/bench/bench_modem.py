"""Voice modem figures: the parser's throughput, the simulated modem's cost per tick, and how long
call progress takes on the simulated line (in line time, so the same on any machine).

    python tests/bench/bench_modem.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import os
import time

from gateway.modem.sim_line import ScriptedLine, parse_script
from gateway.modem.sim_modem import SimulatedModem
from gateway.modem.v253 import NEED_DATA, DleEventReceived, DteConnection, ResultReceived, shield


def parser_throughput(seconds: float) -> float:
    """Bytes per CPU second DteConnection reads in the receive state (random samples, ~1/256 shielded)."""
    chunk = shield(os.urandom(4096)) + b"\x105"
    conn = DteConnection()
    conn.send_command("AT+VRX")
    conn.receive_data(b"\r\nCONNECT\r\n")
    total, start = 0, time.process_time()
    while time.process_time() - start < seconds:
        for _ in range(100):
            conn.receive_data(chunk)
            while conn.next_event() is not NEED_DATA:
                pass
            total += len(chunk)
    return total / (time.process_time() - start)


class Host:
    def __init__(self, script: str):
        self.modem = SimulatedModem(ScriptedLine(parse_script(script)))
        self.conn = DteConnection()
        self.events = []

    def tick(self):
        self.modem.tick()
        if self.modem.output:
            self.conn.receive_data(bytes(self.modem.output))
            self.modem.output.clear()
        while (event := self.conn.next_event()) is not NEED_DATA:
            self.events.append((self.modem.time_ms, event))

    def command(self, line: str, limit_ms: int = 20_000) -> tuple[str, int]:
        self.events.clear()
        self.modem.receive(self.conn.send_command(line))
        start = self.modem.time_ms
        while self.modem.time_ms - start < limit_ms:
            self.tick()
            for at, event in self.events:
                if isinstance(event, ResultReceived):
                    return event.code, at - start
        raise RuntimeError(f"no result to {line}")

    def until(self, name: str, limit_ms: int = 20_000) -> int:
        start = self.modem.time_ms
        self.events.clear()
        while self.modem.time_ms - start < limit_ms:
            self.tick()
            for at, event in self.events:
                if isinstance(event, DleEventReceived) and event.name == name:
                    return at - start
        raise RuntimeError(f"no {name} within {limit_ms} ms")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="CPU seconds per throughput figure")
    args = parser.parse_args(argv)

    rate = parser_throughput(args.seconds)
    print(f"DteConnection, receive state: {rate / 1e6:.1f} MB per CPU second "
          f"= {rate / 8000:,.0f} 8-bit 8 kHz streams per core")

    host = Host("number 201 busy\nnumber 202 answer rings=0 audio=silence dtmf=5 dtmf-at=500ms")
    for line in ("ATE0V1", "AT+FCLASS=8", "AT+VSM=131", "AT+VRN=0"):
        host.command(line)
    code, dial_ms = host.command("ATD201")
    host.command("AT+VRX")
    busy_ms = host.until("busy")
    print(f"simulated line, us tones: ATD201 -> {code} in {dial_ms} ms (dial tone recognised, 3 keys of 95 ms); "
          f"<DLE>b {busy_ms} ms after receiving began")
    host.modem.receive(host.conn.abort_receive())
    for _ in range(5):
        host.tick()
    host.command("ATH")
    code, dial_ms = host.command("ATD202")
    host.command("AT+VRX")
    key_ms = host.until("dtmf")
    print(f"ATD202 -> {code} in {dial_ms} ms; the far end's key reported {key_ms} ms after receiving began "
          f"(it presses it 500 ms after answering)")

    ticks, start = 0, time.process_time()
    while time.process_time() - start < args.seconds:
        host.tick()
        ticks += 1
    per_tick = (time.process_time() - start) / ticks
    print(f"SimulatedModem streaming mu-law with its DSP: {per_tick * 1e6:.0f} us per 20 ms tick "
          f"({0.02 / per_tick:.0f}x real time on one core)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
