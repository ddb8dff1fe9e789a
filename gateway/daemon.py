"""``linegate serve``: the gateway as a service.

It puts together the parts: the store (call-detail records), the boards
(real ones by URL; simulated ones started here, behind the simulated
telephone network of boards/sim), the gateway (channels, stacks, media
engine, call model), the CTI socket, and the pacer that moves time (real,
or virtual with ``--virtual-clock``). Stopping undoes it in reverse.

The simulated network runs in this process, served on a Unix socket in a
scratch directory that the boards' simulators connect to. It only ever
talks to them through the line side (boards/sim/LINESIDE.md): the gateway
learns what happened on a line from the board, like on real hardware.

Voice modems ([[modems]]) are one-port FXO lines (gateway.modem.fxo_driver).
A simulated one is ``linegate sim modem --listen pty --network URL`` as a
process, on a line of the same network (its number the config's, fixed for
it in the network, or the one the network gives it), opened over ``pty:``
like a USB modem. Modems keep real time: a daemon with modems refuses
``--virtual-clock``.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from pathlib import Path

from gateway.boards import simulator
from gateway.clock import RealClock, VirtualClock
from gateway.config import DaemonConfig, default_config, default_socket_path
from gateway.cti.server import AuthPolicy, CtiServer
from gateway.errors import UsageError
from gateway.logs import log_event
from gateway.modem.sim_line import default_law
from gateway.pacer import RealPacer, VirtualPacer
from gateway.runtime import BoardSpec, Gateway, ModemSpec
from gateway.service import GatewayService
from gateway.store import CallStore

log = logging.getLogger("linegate.serve")

DEFAULT_DB = "linegate.db"


class Daemon:
    def __init__(self, config: DaemonConfig | None = None, *, socket_path=None, db_path=None,
                 virtual_clock: bool = False, inbound: bool | None = None):
        self.config = config or default_config()
        if virtual_clock and self.config.modems:
            raise UsageError(f"{self.config.source}: --virtual-clock cannot run voice modems ([[modems]], "
                             "simulated or real): a modem on a serial port or a pty keeps real time")
        self.socket_path = socket_path or self.config.cti.socket or default_socket_path()
        self.db_path = db_path or self.config.db or DEFAULT_DB
        self.virtual = virtual_clock
        self.inbound = inbound
        self.clock = VirtualClock() if virtual_clock else RealClock()
        self.store: CallStore | None = None
        self.gateway: Gateway | None = None
        self.network = None
        self.cti: CtiServer | None = None
        self._line_server = None
        self._procs = []
        self._modem_urls: dict = {}      # simulated modem name -> (pty URL, the line's number)
        self._scratch = None
        self._task: asyncio.Task | None = None
        self.stopped = asyncio.Event()

    async def start(self) -> None:
        config = self.config
        self.store = CallStore(self.db_path)
        interrupted = self.store.close_interrupted(self.clock.wall())
        if interrupted:
            log_event(log, logging.WARNING, "store.interrupted-calls-closed", count=interrupted)
        # Call ids stay unique across restarts: a prefix from the start time.
        self.gateway = Gateway(self.clock, country=config.country, call_prefix=f"c{int(time.time()) % 10**8:08d}-")
        urls = {}
        if config.simulated:
            urls = await self._start_simulation()
        for entry in config.boards:
            spec = BoardSpec(urls.get(entry.name, entry.url), entry.name, entry.group, entry.law,
                             entry.country or config.country, entry.extensions, entry.fxo, entry.fxs)
            driver = await self.gateway.add_board(spec)
            log_event(log, logging.INFO, "board.attached", board=entry.name, url=spec.url, kind=driver.kind.name,
                      serial=driver.identity.serial, ports=driver.identity.ports)
        for entry in config.modems:
            url, number = self._modem_urls.get(entry.name, (entry.url, entry.number))
            country = entry.country or config.country
            spec = ModemSpec(url, entry.name, entry.group, entry.law or default_law(country), country,
                             entry.number or number, entry.fxo, entry.keepalive)
            driver = await self.gateway.add_modem(spec)
            log_event(log, logging.INFO, "modem.attached", modem=entry.name, url=url, model=driver.identity.model,
                      compression=driver.identity.compression, number=spec.number or None)
        self.gateway.start_engine()
        cti = config.cti
        auth = AuthPolicy(cti.allow_users or None, cti.allow_groups or None, socket_user=cti.user,
                          socket_group=cti.group, mode=cti.mode)
        self.cti = CtiServer(GatewayService(self.gateway), self.socket_path, clock=self.clock, auth=auth)
        await self.cti.start()
        self.gateway.listeners += [self.store.listener(self.gateway.model), self._publish, self._log_events]
        pacer = VirtualPacer(self.clock) if self.virtual else RealPacer(self.clock)
        self._task = asyncio.get_running_loop().create_task(self._run(pacer), name="gateway tick")
        log_event(log, logging.INFO, "serve.started", socket=str(self.cti.path), db=self.db_path,
                  channels=len(self.gateway.channels), clock="virtual" if self.virtual else "real")

    async def _start_simulation(self) -> dict:
        from gateway.boards.sim.line_server import LineServer
        from gateway.boards.sim.network import TelephoneNetwork
        config = self.config
        self._scratch = tempfile.TemporaryDirectory(prefix="linegate-serve-")
        scratch = Path(self._scratch.name)
        from gateway.modem.network_line import line_serial, start_process
        # A simulated modem's line says HELLO as V253-<its index>; the network gives it the config's number.
        modems = [(entry, i + 1) for i, entry in enumerate(config.modems) if entry.simulated]
        self.network = TelephoneNetwork(config.directory, country=None, seed=config.seed, inbound=self.inbound,
                                        lines={f"{line_serial(seed)}.0": entry.number
                                               for entry, seed in modems if entry.number})
        self._line_server = LineServer(self.network, f"unix:{scratch / 'network.sock'}")
        network_url = await self._line_server.start()
        urls = {}
        for i, entry in enumerate(b for b in config.boards if b.simulated):
            state = scratch / entry.name
            state.mkdir()
            # The board says HELLO to the network before it listens: start it off this loop,
            # which serves the network.
            proc, url = await asyncio.to_thread(simulator.start, entry.simulated, state, (), i + 1,
                                                network=network_url,
                                                clock="virtual" if self.virtual else "real")
            self._procs.append(proc)
            urls[entry.name] = url
        for entry, seed in modems:
            proc, url = await asyncio.to_thread(start_process, network_url, scratch / f"modem-{entry.name}.log",
                                                country=self.network.country, seed=seed)
            self._procs.append(proc)
            self._modem_urls[entry.name] = (url, self.network.line_number(line_serial(seed), 0) or "")
        return urls

    async def _run(self, pacer) -> None:
        try:
            await self.gateway.run(pacer)
        except Exception:
            log_event(log, logging.ERROR, "serve.tick-failed", exc_info=True)
            raise
        finally:
            self.stopped.set()

    def _publish(self, events) -> None:
        for event in events:
            self.cti.publish(event.wire())

    def _log_events(self, events) -> None:
        for event in events:
            if event.name.startswith("call."):
                log_event(log, logging.INFO, event.name, **event.fields)

    async def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 2.0)
            except (asyncio.TimeoutError, Exception):
                self._task.cancel()
        if self.cti is not None:
            await self.cti.close()
        if self.gateway is not None:
            await self.gateway.close()
        for proc in self._procs:
            await asyncio.to_thread(simulator.stop, proc)
        if self._line_server is not None:
            await self._line_server.close()
        if self.store is not None:
            self.store.close()
        if self._scratch is not None:
            self._scratch.cleanup()
        self.stopped.set()
        log_event(log, logging.INFO, "serve.stopped")
