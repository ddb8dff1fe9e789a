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
