"""The one exception tree of Linegate.

Errors caused by outside input (files, frames, socket messages, configs) also
subclass ValueError and say what was wrong: the field or item, the value and,
where bytes were read, the byte offset. Errors a caller makes by misusing an
API are ``UsageError``. The command line maps these classes to exit codes in
one place (gateway.tools.cli).
"""


class LinegateError(Exception):
    """Root of every error Linegate raises on purpose."""


class UsageError(LinegateError):
    """The caller misused an API: wrong type, shape, state or parameter."""


class NativeError(LinegateError):
    """The compiled core is missing, stale, or returned an unexpected code."""


class InputError(LinegateError, ValueError):
    """Outside input is malformed. Names the source, the field, the value and the offset."""

    def __init__(self, message, *, source=None, field=None, value=None, offset=None):
        self.source = source
        self.field = field
        self.value = value
        self.offset = offset
        where = []
        if source is not None:
            where.append(str(source))
        if offset is not None:
            where.append(f"byte {offset}")
        prefix = ": ".join([", ".join(where)]) + ": " if where else ""
        super().__init__(prefix + message)


class AudioFormatError(InputError):
    """An audio file is not a WAV file we can read, or is damaged."""


class CallerIdError(InputError):
    """A caller ID message (FSK data message or DTMF string) is malformed, failed
    its checksum or arrived incomplete. ``offset`` is the byte (or key) index."""


class R2VariantError(InputError):
    """An MFC/R2 variant table (gateway/r2/variants/*.toml) is malformed or contradicts
    itself: names the file, the field (``group_a.next_ani``) and the value."""


class LinkError(LinegateError):
    """The link to a board failed: it cannot be opened, it closed, or the board did not
    answer in time. Not bad data (that is an InputError such as a FrameError)."""


class SignatureError(InputError):
    """Signed input whose signature does not verify, or is signed by a key that is not trusted."""


class IncompatibleError(InputError):
    """Well-formed input that does not fit its target: another board kind or hardware
    revision, a downgrade that was not allowed, more than the target holds."""


class BoardError(LinkError):
    """A board answered, but with a failure (RESULT other than OK, or a state it should not be in).
    Carries the board's status and detail text where it gave them."""

    def __init__(self, message, *, status=None, detail=None):
        super().__init__(message)
        self.status = status
        self.detail = detail


class ModemError(InputError):
    """A voice modem answered with something we cannot use: a garbled or unknown line, an
    unknown <DLE> code, a reply that breaks the command's format, ERROR to a command that must
    work. Quotes what the modem sent (``line``, bytes) and names the command it answered."""

    def __init__(self, message, *, line=None, command=None, source=None):
        self.line = line
        self.command = command
        super().__init__(message, source=source, value=line)


class ModemTimeoutError(ModemError):
    """A voice modem did not answer in time (every wait on a modem has a timeout). Quotes the
    last line the modem sent, if any, so that a modem stuck in another state shows it."""

class CtiError(LinegateError):
    """A CTI request failed. ``code`` is the wire's short kebab-case code
    (gateway/cti/PROTOCOL.md, "Error codes"), ``message`` says what was wrong.
    The service behind the socket raises it for refusals (``not-found``,
    ``wrong-state``...); the client library raises it for an error reply."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class CtiRequestError(CtiError, ValueError):
    """A request line that cannot be taken as it is: not UTF-8 or JSON, too
    large, not a request, an unknown op, arguments that do not fit the op's
    schema. Carries the request's id when it could be read (else None)."""

    def __init__(self, code: str, message: str, *, request_id=None):
        super().__init__(code, message)
        self.request_id = request_id


class CtiSocketError(LinkError):
    """The CTI socket cannot be set up (in use by a live server, not a socket,
    an owner or group that cannot be given), cannot be reached, closed, or
    did not answer in time."""


class LapdFrameError(InputError):
    """A Q.921 (LAPD) frame that cannot be taken: too short, a bad address, an undefined
    control field, an information field where none is allowed or longer than N201.
    ``code`` is the Q.921 MDL-ERROR letter the data link reports for it (ITU-T Q.921
    Appendix II, Table II.1: L undefined frame, M information not permitted, N wrong size,
    O longer than N201), or None when the frame is discarded without one (address errors)."""

    def __init__(self, message, *, code=None, field=None, value=None, offset=None):
        super().__init__(message, source="Q.921 frame", field=field, value=value, offset=offset)
        self.code = code


class Q931Error(InputError):
    """A Q.931 message, or one of its information elements, that is malformed. ``cause`` is
    the Q.850 cause the procedures of Q.931 clause 5.8 answer it with (95 invalid message,
    96 mandatory information element missing, 99 information element non-existent, 100
    invalid information element contents, 81 invalid call reference), or None when the
    message is only to be ignored (too short, another protocol, a call reference we cannot
    read); ``ie`` is the information element identifier concerned, if any."""

    def __init__(self, message, *, cause=None, ie=None, field=None, value=None, offset=None):
        super().__init__(message, source="Q.931 message", field=field, value=value, offset=offset)
        self.cause = cause
        self.ie = ie
