"""+VSM=? lines of real modems, the encoding each means, and the samples."""

import numpy as np
import pytest

from gateway.errors import ModemError, UsageError
from gateway.modem import compression
from gateway.modem.compression import parse_method

# Lines as the references print them (see gateway/modem/compression.py for the sources).
USR_5637 = ['1,"UNSIGNED PCM",8,0,(7200,8000),(0),(0)', '128,"8-BIT LINEAR",8,0,(7200,8000),(0),(0)',
            '129,"ADPCM",4,0,(7200,8000),(0),(0)', '130,"UNSIGNED PCM",8,0,(7200,8000),(0),(0)',
            '131,"ULAW",8,0,(7200,8000),(0),(0)', '132,"ALAW",8,0,(7200,8000),(0),(0)',
            '133,"LINEAR",16,0,(7200,8000),(0),(0)']
ROCKWELL = ['1,"UNSIGNED PCM",8,0,(7200,8000,11025),0,0', '129,"IMA ADPCM",4,0,(7200,8000),0,0',
            '140,"2 Bit ADPCM",2,0,(7200,8000,11025),0,0']
V253_STYLE = ['0,"SIGNED PCM",8,0,8000,0,0', '1,"UNSIGNED PCM",8,0,8000,0,0', '4,"G711U",8,0,8000,0,0',
              '5,"G711A",8,0,8000,0,0']


def test_usr_and_conexant_numbering():
    methods = compression.parse_methods(USR_5637)
    assert [(m.number, m.encoding) for m in methods] == [(1, "u8"), (128, "s8"), (129, None), (130, "u8"),
                                                         (131, "ulaw"), (132, "alaw"), (133, "s16le")]
    assert methods[0].rates == ((7200, 7200), (8000, 8000))
    assert compression.choose(methods).number == 131
    assert compression.choose(methods, prefer=("alaw",)).number == 132
    assert compression.choose(methods, prefer=("s16le",)).number == 133


def test_v253_numbering_and_other_forms():
    methods = compression.parse_methods(V253_STYLE)
    assert [(m.number, m.encoding) for m in methods] == [(0, "s8"), (1, "u8"), (4, "ulaw"), (5, "alaw")]
    assert parse_method("+VSM: 131,ULAW,8,0,8000,0,0").encoding == "ulaw"
    assert parse_method('4,"PCM",8,0,8000').encoding == "ulaw"          # the name says nothing: V.253 number
    zyxel = parse_method("1;CELP;1;0;(9600)")
    assert (zyxel.number, zyxel.encoding, zyxel.rates) == (1, None, ((9600, 9600),))
    assert parse_method('1,"UNSIGNED PCM",8,0,(7200-8000),0,0').takes_rate(7600)


def test_a_modem_without_a_method_we_read_says_what_it_offers():
    with pytest.raises(ModemError, match="140 '2 Bit ADPCM' \\(not decoded here\\)"):
        compression.choose(compression.parse_methods(ROCKWELL), prefer=("ulaw", "alaw"))
    with pytest.raises(UsageError):
        compression.choose(compression.parse_methods(ROCKWELL), prefer=("mp3",))


@pytest.mark.parametrize("line,complaint", [
    ("1,UNSIGNED PCM,8", "3 fields"),
    ("x,PCM,8,0,8000", "<cml> 'x'"),
    ('1,"PCM,8,0,8000', "unmatched quote"),
    ("1,PCM,99,0,8000", "<bps> '99'"),
    ("1,PCM,8,0,(8000-7200)", "runs backwards"),
    ("1,PCM,8,0,(8000,abc)", "<vsr> 'abc'"),
])
def test_bad_lines_are_quoted(line, complaint):
    with pytest.raises(ModemError, match=complaint) as info:
        parse_method(line)
    assert info.value.line == line.encode() and line in str(info.value)


@pytest.mark.parametrize("encoding", compression.ENCODINGS)
def test_samples_round_trip(encoding):
    t = np.arange(800)
    tone = (8000 * np.sin(2 * np.pi * 1000 * t / 8000)).astype(np.int16)
    payload = compression.encode(tone, encoding)
    assert len(payload) == 800 * compression.BYTES_PER_SAMPLE[encoding]
    back = compression.decode(payload, encoding)
    error = np.abs(back.astype(int) - tone).max()
    assert error <= {"s16le": 0, "u8": 256, "s8": 256, "ulaw": 260, "alaw": 260}[encoding]


def test_sample_conventions():
    assert compression.encode(np.array([0, -32768, 32767], np.int16), "u8") == bytes([128, 0, 255])
    assert compression.encode(np.array([0, -32768, 32767], np.int16), "s8") == bytes([0, 128, 127])
    assert list(compression.decode(bytes([128, 0]), "u8")) == [0, -32768]
    with pytest.raises(UsageError, match="odd"):
        compression.decode(b"\x00", "s16le")
    with pytest.raises(UsageError, match="int16"):
        compression.encode([1, 2], "ulaw")
