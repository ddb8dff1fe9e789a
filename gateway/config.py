"""The daemon's configuration (``linegate serve --config FILE``), TOML:

    country = "us"                 # the tone plan of lines that do not name one
    log_level = "info"             # debug, info, warning, error

    [cti]
    socket = "/run/linegate/cti.sock"
    mode = "0660"                  # the socket file's permissions
    group = "callcentre"           # its group (its members may connect)
    allow_users = ["dialer"]       # more users that may connect (by name or uid)
    allow_groups = []

    [store]
    db = "/var/lib/linegate/cdr.db"

    [network]                      # the simulated telephone network (for simulated boards)
    directory = "directory.toml"   # default: the packaged directory
    seed = 1

    [[boards]]                     # a real board by URL ...
    url = "serial:///dev/ttyUSB0?baud=921600"
    name = "fxo1"
    [[boards]]                     # ... or a simulated one on the simulated network
    simulated = "fxs4"
    name = "fxs1"
    extensions = ["201", "202", "203", "204"]
    [boards.fxs]
    interdigit = 3.0

    [[modems]]                     # a V.253 voice modem as an FXO line: real, by URL ...
    url = "serial:///dev/ttyACM0?baud=115200"
    name = "modem1"
    number = "2015550199"          # the line's own number (the DNIS of calls to it)
    [[modems]]                     # ... or simulated, on the simulated network (real time only)
    simulated = true
    name = "modem2"

Every board takes ``name``, ``group`` (default: its port kind), ``extensions``
(FXS: the phones' numbers; FXO: the lines' own numbers, the DNIS of calls to
them), ``law``
(``alaw``/``ulaw``), ``country``, and a ``[boards.fxo]`` or ``[boards.fxs]``
table with the loop-start settings (gateway.loopstart's FxoConfig and
FxsConfig fields). Anything else is an error naming the file, the line and
the key. A modem takes ``name``, ``group`` (default ``modem``), ``law`` (the
channel's, and the modem's compression when it has it; default the
country's: mu-law in us and jp, A-law elsewhere), ``country``, ``number``,
``keepalive`` (seconds between checks that an idle modem answers, default
30) and a ``[modems.fxo]`` table (FxoConfig's fields; DTMF dialling only: a
modem cannot pulse-dial). Its channel is ``NAME/0``. Without a config file
the daemon runs the embedded default: ``default_config()``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from gateway.boards.config import ConfigError, KeyLines
from gateway.dsp.tone_plan import known_countries, load_plan
from gateway.errors import LinegateError
from gateway.loopstart import FxoConfig, FxsConfig

LOG_LEVELS = ("debug", "info", "warning", "error")
SIMULATED_KINDS = ("fxo4", "fxs4")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,15}")


@dataclass(frozen=True)
class BoardEntry:
    name: str
    url: str | None = None
    simulated: str | None = None
    group: str | None = None
    law: str = "alaw"
    country: str | None = None
    extensions: tuple = ()
    fxo: FxoConfig = field(default_factory=FxoConfig)
    fxs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ModemEntry:
    name: str
    url: str | None = None
    simulated: bool = False
    group: str = "modem"
    law: str | None = None          # None: the country's
    country: str | None = None
    number: str = ""
    keepalive: float = 30.0
    fxo: FxoConfig = field(default_factory=FxoConfig)


@dataclass(frozen=True)
class CtiConfig:
    socket: str | None = None
    mode: int = 0o660
    user: str | None = None
    group: str | None = None
    allow_users: tuple = ()
    allow_groups: tuple = ()


@dataclass(frozen=True)
class DaemonConfig:
    country: str = "us"
    log_level: str = "info"
    cti: CtiConfig = field(default_factory=CtiConfig)
    db: str | None = None
    directory: str | None = None
    seed: int = 1
    boards: tuple = ()
    source: str = "(default)"
    modems: tuple = ()

    @property
    def simulated(self) -> bool:
        """Something runs on the simulated network (a simulated board or modem)."""
        return any(b.simulated for b in self.boards) or any(m.simulated for m in self.modems)


def default_config() -> DaemonConfig:
    """The embedded default: an FXO and an FXS board, simulated, on the simulated network."""
    return DaemonConfig(boards=(
        # The lines' numbers are the ones the default directory gives the first FXO board ([lines]).
        BoardEntry(name="fxo1", simulated="fxo4", extensions=("2015550100", "2015550101", "2015550102", "2015550103")),
        BoardEntry(name="fxs1", simulated="fxs4", extensions=("201", "202", "203", "204")),
    ))


def load_config(path) -> DaemonConfig:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read it: {exc.strerror or exc}", source=path) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", source=path) from None
    return parse_daemon_config(text, source=str(path))


def parse_daemon_config(text: str, source="config") -> DaemonConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _TOML_POSITION.search(message)
        if found:
            raise ConfigError(f"not valid TOML: {message[:found.start()]} (column {found.group(2)})",
                              source=source, line=int(found.group(1))) from None
        raise ConfigError(f"not valid TOML: {message}", source=source) from None
    return _Checker(data, KeyLines(text), source).config()


def _known_country(code: str) -> bool:
    try:
        load_plan(code)            # plans answer to their aliases too (gb for uk)
    except LinegateError:
        return False
    return True


def _type(value) -> str:
    return {dict: "table", list: "list", str: "string", bool: "boolean", int: "integer",
            float: "number"}.get(type(value), type(value).__name__)


class _Checker:
    def __init__(self, data, where: KeyLines, source):
        self.data, self.where, self.source = data, where, source

    def fail(self, path: tuple, message: str, value=None):
        raise ConfigError(message, source=self.source, line=self.where.line(*path),
                          field=".".join(str(p) for p in path), value=value)

    def keys(self, path: tuple, table: dict, allowed) -> None:
        for key in table:
            if key not in allowed:
                self.fail(path + (key,), f"unknown key (known here: {', '.join(sorted(allowed))})")

    def get(self, path: tuple, table: dict, key: str, kind, default=None, check=None, what=""):
        if key not in table:
            return default
        value = table[key]
        ok = isinstance(value, kind) and not (kind in (int, float, (int, float)) and isinstance(value, bool))
        if not ok:
            names = {str: "a string", int: "an integer", bool: "true or false", list: "a list", dict: "a table",
                     (int, float): "a number"}
            self.fail(path + (key,), f"is {_type(value)}; {names.get(kind, kind)} is expected", value)
        if check is not None and not check(value):
            self.fail(path + (key,), what, value)
        return value

    def country(self, path, table, key, default):
        return self.get(path, table, key, str, default, _known_country,
                        f"not a known country (known: {', '.join(known_countries())})")

    def config(self) -> DaemonConfig:
        d = self.data
        self.keys((), d, ("country", "log_level", "cti", "store", "network", "boards", "modems"))
        country = self.country((), d, "country", "us")
        log_level = self.get((), d, "log_level", str, "info", lambda v: v in LOG_LEVELS,
                             f"one of {', '.join(LOG_LEVELS)}")
        cti = self.cti(self.get((), d, "cti", dict, {}))
        store = self.get((), d, "store", dict, {})
        self.keys(("store",), store, ("db",))
        db = self.get(("store",), store, "db", str)
        network = self.get((), d, "network", dict, {})
        self.keys(("network",), network, ("directory", "seed"))
        directory = self.get(("network",), network, "directory", str)
        seed = self.get(("network",), network, "seed", int, 1, lambda v: 0 <= v < 2 ** 32, "0 .. 2^32-1")
        boards = self.get((), d, "boards", list, [])
        entries = tuple(self.board(i, b) for i, b in enumerate(boards))
        names = [b.name for b in entries]
        for i, name in enumerate(names):
            if name in names[:i]:
                self.fail(("boards", i, "name"), "two boards have this name", name)
        modems = tuple(self.modem(i, m) for i, m in enumerate(self.get((), d, "modems", list, [])))
        for i, modem in enumerate(modems):
            if modem.name in names:
                self.fail(("modems", i, "name"), "a board or another modem has this name (it prefixes channels)",
                          modem.name)
            names.append(modem.name)
        return DaemonConfig(country, log_level, cti, db, directory, seed, entries, str(self.source), modems=modems)

    def cti(self, t: dict) -> CtiConfig:
        p = ("cti",)
        self.keys(p, t, ("socket", "mode", "user", "group", "allow_users", "allow_groups"))
        mode = self.get(p, t, "mode", str, "0660", lambda v: re.fullmatch(r"0?[0-7]{3}", v) is not None,
                        "an octal mode such as \"0660\"")
        users = self.get(p, t, "allow_users", list, [])
        groups = self.get(p, t, "allow_groups", list, [])
        for key, items in (("allow_users", users), ("allow_groups", groups)):
            for item in items:
                if not isinstance(item, (str, int)) or isinstance(item, bool):
                    self.fail(p + (key,), "items are names (strings) or numeric ids", item)
        return CtiConfig(self.get(p, t, "socket", str), int(mode, 8), self.get(p, t, "user", str),
                         self.get(p, t, "group", str), tuple(users), tuple(groups))

    def board(self, i: int, b) -> BoardEntry:
        p = ("boards", i)
        if not isinstance(b, dict):
            self.fail(p, "each [[boards]] entry is a table", b)
        self.keys(p, b, ("url", "simulated", "name", "group", "law", "country", "extensions", "fxo", "fxs"))
        url = self.get(p, b, "url", str)
        simulated = self.get(p, b, "simulated", str, None, lambda v: v in SIMULATED_KINDS,
                             f"one of {', '.join(SIMULATED_KINDS)}")
        if (url is None) == (simulated is None):
            self.fail(p, "give either url (a real board) or simulated (a board on the simulated network)")
        name = self.get(p, b, "name", str, None, lambda v: _NAME.fullmatch(v) is not None,
                        "a short name: a letter, then letters, digits, _ or -, 16 at most")
        if name is None:
            self.fail(p, "every board needs a name (it prefixes its channels: NAME/PORT)")
        group = self.get(p, b, "group", str, None, lambda v: _NAME.fullmatch(v) is not None, "a short name")
        law = self.get(p, b, "law", str, "alaw", lambda v: v in ("alaw", "ulaw"), "alaw or ulaw")
        country = self.country(p, b, "country", None)
        extensions = self.get(p, b, "extensions", list, [])
        for ext in extensions:
            if not isinstance(ext, str) or not ext.isdigit():
                self.fail(p + ("extensions",), "extensions are numbers written as strings (\"201\")", ext)
        fxo = self.stack_settings(p + ("fxo",), self.get(p, b, "fxo", dict, {}), FxoConfig)
        fxs = self.stack_settings(p + ("fxs",), self.get(p, b, "fxs", dict, {}), FxsConfig, exclude=("extension",))
        try:
            fxo_config = FxoConfig(**fxo)
            FxsConfig(**fxs)
        except Exception as exc:           # the dataclasses' own checks (UsageError)
            self.fail(p, str(exc))
        return BoardEntry(name, url, simulated, group, law, country, tuple(extensions), fxo_config, fxs)

    def modem(self, i: int, m) -> ModemEntry:
        p = ("modems", i)
        if not isinstance(m, dict):
            self.fail(p, "each [[modems]] entry is a table", m)
        self.keys(p, m, ("url", "simulated", "name", "group", "law", "country", "number", "keepalive", "fxo"))
        url = self.get(p, m, "url", str)
        simulated = self.get(p, m, "simulated", bool, False)
        if (url is None) == (not simulated):
            self.fail(p, "give either url (a modem on a serial port: \"serial:///dev/ttyACM0?baud=115200\") "
                         "or simulated = true (a simulated modem on the simulated network)")
        if url is not None:
            from gateway.boards.transport import parse_url
            try:
                scheme, _ = parse_url(url)
            except LinegateError as exc:
                self.fail(p + ("url",), str(exc), url)
            if scheme not in ("serial", "pty", "tcp"):
                self.fail(p + ("url",), "a modem is reached by serial:///dev/ttyACM0?baud=115200, pty:/dev/pts/N "
                                        "or tcp://HOST:PORT", url)
        name = self.get(p, m, "name", str, None, lambda v: _NAME.fullmatch(v) is not None,
                        "a short name: a letter, then letters, digits, _ or -, 16 at most")
        if name is None:
            self.fail(p, "every modem needs a name (its channel is NAME/0)")
        group = self.get(p, m, "group", str, "modem", lambda v: _NAME.fullmatch(v) is not None, "a short name")
        law = self.get(p, m, "law", str, None, lambda v: v in ("alaw", "ulaw"), "alaw or ulaw")
        country = self.country(p, m, "country", None)
        number = self.get(p, m, "number", str, "", lambda v: v.isdigit() and len(v) <= 20,
                          "the line's number: up to 20 digits, written as a string (\"2015550199\")")
        keepalive = self.get(p, m, "keepalive", (int, float), 30.0, lambda v: 1 <= v <= 3600, "1 .. 3600 seconds")
        fxo = self.stack_settings(p + ("fxo",), self.get(p, m, "fxo", dict, {}), FxoConfig)
        if fxo.get("dial_method", "dtmf") != "dtmf":
            self.fail(p + ("fxo", "dial_method"), "a modem dials DTMF only (pulse dialling needs a hook "
                                                  "it times itself)", fxo["dial_method"])
        try:
            fxo_config = FxoConfig(**fxo)
        except Exception as exc:           # the dataclass's own checks (UsageError)
            self.fail(p, str(exc))
        return ModemEntry(name, url, simulated, group, law, country, number, float(keepalive), fxo_config)

    def stack_settings(self, path, table: dict, cls, exclude=()) -> dict:
        fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in exclude}
        self.keys(path, table, fields)
        out = {}
        for key, value in table.items():
            default = fields[key].default
            kind = (int, float) if isinstance(default, float) else type(default)
            out[key] = self.get(path, table, key, kind)
        return out


def default_socket_path() -> str:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return os.path.join(runtime, "linegate", "cti.sock") if runtime else os.path.abspath("linegate.sock")
