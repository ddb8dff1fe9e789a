"""`linegate analyze`: real files in, digits and exit codes out.

The recordings are tests/fixtures/dtmf/ (three files of the evaluation
corpus's dev split, labels beside them). Variants (other rates, G.711, stereo,
damaged copies) are written into tmp_path from those files.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

import gateway
from gateway.dsp import g711
from gateway.tools.analyze import fixed_blocks
from gateway.tools.cli import main
from tests.dsp.wav_writer import (ALAW, EXTENSIBLE, IEEE_FLOAT, MULAW, chunk, fmt_body, read_pcm16, riff,
                                  wav_bytes, write_pcm16)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dtmf"
LABELS = {row["id"]: row for row in map(json.loads, (FIXTURES / "labels.jsonl").read_text().splitlines())}
FIXTURE_FILES = sorted(FIXTURES / row["file"] for row in LABELS.values())
# The corpus scorer's rule: a detection matches if it overlaps the labelled burst
# widened by 80 ms on each side. Ours should do far better; 20 ms keeps us honest.
TIME_TOLERANCE_S = 0.020


def run_main(capsys, *argv):
    status = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return status, out, err


def json_lines(text):
    return [json.loads(line) for line in text.splitlines()]


def assert_matches_labels(prediction, label_id=None):
    label = LABELS[label_id or prediction["id"]]
    assert "".join(d["digit"] for d in prediction["digits"]) == label["digits"]
    for got, want in zip(prediction["digits"], label["events"]):
        assert got["start"] == pytest.approx(want["start"], abs=TIME_TOLERANCE_S)
        assert got["end"] == pytest.approx(want["end"], abs=TIME_TOLERANCE_S)


def console_script() -> str:
    """The installed `linegate` beside this interpreter (pip puts it there)."""
    script = Path(sys.executable).parent / "linegate"
    found = str(script) if script.exists() else shutil.which("linegate")
    assert found, "the `linegate` console script is not installed: pip install -e ."
    return found


# --- output ------------------------------------------------------------------------------

def test_json_is_one_prediction_per_file_matching_the_labels(capsys):
    status, out, err = run_main(capsys, "analyze", "--json", FIXTURES)
    assert (status, err) == (0, "")
    predictions = json_lines(out)
    assert [p["id"] for p in predictions] == sorted(LABELS)
    for prediction in predictions:
        assert set(prediction) == {"id", "digits"}
        for digit in prediction["digits"]:
            assert set(digit) == {"digit", "start", "end"}
            assert isinstance(digit["digit"], str) and len(digit["digit"]) == 1
            assert round(digit["start"], 3) == digit["start"] and round(digit["end"], 3) == digit["end"]
            assert digit["start"] < digit["end"]
        assert_matches_labels(prediction)


def test_plain_output_is_a_table_per_file(capsys):
    path = FIXTURES / "dev-dtmf-0056.wav"
    status, out, _ = run_main(capsys, "analyze", path)
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith(str(path)) and "8000 Hz pcm_s16" in lines[0]
    assert lines[1].split() == ["digits:", LABELS["dev-dtmf-0056"]["digits"]]
    rows = [line.split() for line in lines[3:]]
    assert [r[0] for r in rows] == list(LABELS["dev-dtmf-0056"]["digits"])
    for row, event in zip(rows, LABELS["dev-dtmf-0056"]["events"]):
        assert float(row[1]) == pytest.approx(event["start"], abs=TIME_TOLERANCE_S)


def test_as_a_subprocess_through_the_console_script():
    done = subprocess.run([console_script(), "analyze", "--json", *map(str, FIXTURE_FILES)],
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (0, "")
    predictions = json_lines(done.stdout)
    assert len(predictions) == len(FIXTURE_FILES)
    for prediction in predictions:
        assert_matches_labels(prediction)


def test_version(capsys):
    status, out, _ = run_main(capsys, "--version")
    assert (status, out.strip()) == (0, f"linegate {gateway.__version__}")


# --- inputs ------------------------------------------------------------------------------

def test_folder_is_searched_recursively_in_sorted_order(tmp_path, capsys):
    (tmp_path / "b" / "deeper").mkdir(parents=True)
    (tmp_path / "a").mkdir()
    shutil.copy(FIXTURE_FILES[0], tmp_path / "b" / "deeper" / "first.wav")
    shutil.copy(FIXTURE_FILES[1], tmp_path / "a" / "second.WAV")
    shutil.copy(FIXTURE_FILES[2], tmp_path / "third.wav")
    (tmp_path / "a" / "notes.txt").write_text("not audio, not a .wav: ignored")
    status, out, err = run_main(capsys, "analyze", "--json", tmp_path)
    assert (status, err) == (0, "")
    predictions = json_lines(out)
    assert [p["id"] for p in predictions] == ["second", "first", "third"]  # a/, b/deeper/, then the top file
    for prediction, source in zip(predictions, [FIXTURE_FILES[1], FIXTURE_FILES[0], FIXTURE_FILES[2]]):
        assert_matches_labels(prediction, source.stem)


def test_bad_files_are_named_once_and_the_rest_still_analysed(tmp_path, capsys):
    shutil.copy(FIXTURE_FILES[0], tmp_path / "1-good.wav")
    (tmp_path / "2-text.wav").write_text("this is not audio\n")
    whole = FIXTURE_FILES[1].read_bytes()
    (tmp_path / "3-truncated.wav").write_bytes(whole[:len(whole) // 2])
    (tmp_path / "4-mp3.wav").write_bytes(wav_bytes(0x0055, 1, 8000, 0, b"\xff\xfb\x90\x00", block_align=1))
    shutil.copy(FIXTURE_FILES[2], tmp_path / "5-good.wav")

    status, out, err = run_main(capsys, "analyze", "--json", tmp_path)
    assert status == 1
    predictions = json_lines(out)
    assert [p["id"] for p in predictions] == ["1-good", "5-good"]
    assert_matches_labels(predictions[0], FIXTURE_FILES[0].stem)
    assert_matches_labels(predictions[1], FIXTURE_FILES[2].stem)
    problems = err.splitlines()
    assert len(problems) == 3
    assert "2-text.wav" in problems[0] and "not a WAV file" in problems[0]
    assert "3-truncated.wav" in problems[1] and "data chunk declares" in problems[1]
    assert "4-mp3.wav" in problems[2] and "format 0x0055 (MPEG Layer 3) is not supported" in problems[2]


def test_missing_path_among_good_ones(tmp_path, capsys):
    status, out, err = run_main(capsys, "analyze", "--json", tmp_path / "nowhere.wav", FIXTURE_FILES[0])
    assert status == 1
    assert len(json_lines(out)) == 1
    assert err.splitlines() == [f"linegate analyze: {tmp_path / 'nowhere.wav'}: no such file or folder"]


def test_no_files_found_is_an_error(tmp_path, capsys):
    (tmp_path / "readme.txt").write_text("no audio here")
    status, out, err = run_main(capsys, "analyze", tmp_path)
    assert (status, out) == (2, "")
    assert err.strip() == f"linegate: no WAV files found in {tmp_path}"


def test_unknown_detector_is_a_usage_error_listing_the_known_ones(capsys):
    status, out, err = run_main(capsys, "analyze", "--detect", "fax", FIXTURE_FILES[0])
    assert (status, out) == (2, "")
    assert "unknown detector 'fax'; known: dtmf, cpt, amd, callerid" in err and len(err.splitlines()) == 1


def test_bad_block_ms_is_a_usage_error(capsys):
    status, _, err = run_main(capsys, "analyze", "--block-ms", "0", FIXTURE_FILES[0])
    assert status == 2 and "--block-ms: 0 is outside 1..1000" in err


@pytest.mark.parametrize("block_ms", [5, 40, 1000])
def test_block_size_does_not_change_the_digits(capsys, block_ms):
    status, out, _ = run_main(capsys, "analyze", "--json", "--block-ms", block_ms, FIXTURE_FILES[2])
    assert status == 0
    assert_matches_labels(json_lines(out)[0])


def test_channel_picks_one_side_of_a_stereo_file(tmp_path, capsys):
    left, _ = read_pcm16(FIXTURE_FILES[0])
    right, _ = read_pcm16(FIXTURE_FILES[2])
    frames = max(len(left), len(right))
    stereo = np.zeros((frames, 2), np.int16)
    stereo[:len(left), 0] = left
    stereo[:len(right), 1] = right
    path = write_pcm16(tmp_path / "call.wav", stereo)

    status, out, err = run_main(capsys, "analyze", "--json", path)
    assert (status, out) == (1, "")
    assert "call.wav" in err and "stereo file: choose one with --channel" in err

    for channel, source in [(0, FIXTURE_FILES[0]), (1, FIXTURE_FILES[2])]:
        status, out, err = run_main(capsys, "analyze", "--json", "--channel", channel, path)
        assert (status, err) == (0, "")
        assert_matches_labels(json_lines(out)[0], source.stem)


@pytest.mark.parametrize("rate", [44100, 48000, 16000, 11025])
def test_resampled_recording_gives_the_same_digits(tmp_path, capsys, rate):
    # The higher-rate copy is made with scipy's resample_poly, independent of our resampler.
    samples, original_rate = read_pcm16(FIXTURE_FILES[0])
    status, out, _ = run_main(capsys, "analyze", "--json", FIXTURE_FILES[0])
    at_8k = json_lines(out)[0]["digits"]

    common = np.gcd(rate, original_rate)
    converted = resample_poly(samples.astype(np.float64), rate // common, original_rate // common)
    path = write_pcm16(tmp_path / f"at-{rate}.wav", np.clip(np.rint(converted), -32768, 32767), rate=rate)
    status, out, err = run_main(capsys, "analyze", "--json", path)
    assert (status, err) == (0, "")
    digits = json_lines(out)[0]["digits"]
    assert [d["digit"] for d in digits] == [d["digit"] for d in at_8k]
    for got, want in zip(digits, at_8k):
        assert got["start"] == pytest.approx(want["start"], abs=0.006)  # one 5 ms sub-block
        assert got["end"] == pytest.approx(want["end"], abs=0.006)


@pytest.mark.parametrize("tag, law, extensible", [(ALAW, "alaw", False), (MULAW, "ulaw", False),
                                                   (MULAW, "ulaw", True)])
def test_g711_wav_gives_the_labelled_digits(tmp_path, capsys, tag, law, extensible):
    samples, rate = read_pcm16(FIXTURE_FILES[1])
    path = tmp_path / f"{law}.wav"
    path.write_bytes(wav_bytes(tag, 1, rate, 8, g711.encode(samples, law).tobytes(),
                               subformat=tag if extensible else None))
    status, out, err = run_main(capsys, "analyze", "--json", path)
    assert (status, err) == (0, "")
    assert_matches_labels(json_lines(out)[0], FIXTURE_FILES[1].stem)


def test_float_wav_gives_the_labelled_digits(tmp_path, capsys):
    samples, rate = read_pcm16(FIXTURE_FILES[1])
    path = tmp_path / "float.wav"
    path.write_bytes(riff(chunk(b"fmt ", fmt_body(EXTENSIBLE, 1, rate, 32, subformat=IEEE_FLOAT)),
                          chunk(b"data", (samples / 32768.0).astype("<f4").tobytes())))
    status, out, _ = run_main(capsys, "analyze", "--json", path)
    assert status == 0
    assert_matches_labels(json_lines(out)[0], FIXTURE_FILES[1].stem)


def test_rate_the_resampler_cannot_serve_is_a_file_error(tmp_path, capsys):
    path = write_pcm16(tmp_path / "odd.wav", np.zeros(100, np.int16), rate=8001)
    status, out, err = run_main(capsys, "analyze", path)
    assert (status, out) == (1, "")
    assert "odd.wav" in err and "8001 Hz" in err and len(err.splitlines()) == 1


def test_ctrl_c_exits_130(tmp_path):
    # Enough copies that the run is still going when the first result is out.
    for i in range(300):
        shutil.copy(FIXTURE_FILES[i % 3], tmp_path / f"{i:03d}.wav")
    process = subprocess.Popen([console_script(), "analyze", "--json", str(tmp_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
        assert first.startswith('{"id": "000"')
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert err.strip().endswith("linegate: interrupted")


def test_fixed_blocks_recuts_any_stream():
    chunks = [np.arange(0, 7), np.arange(7, 7), np.arange(7, 20), np.arange(20, 23)]
    blocks = list(fixed_blocks(chunks, 5))
    assert [len(b) for b in blocks] == [5, 5, 5, 5, 3]
    np.testing.assert_array_equal(np.concatenate(blocks), np.arange(23))


def caller_id_recording(tmp_path):
    """A V.23 MDMF message, a DTMF CLIP string, then a Bell 202 SDMF message
    with one byte spoilt on the way (its checksum no longer fits)."""
    from gateway.dsp import callerid

    good = callerid.encode(callerid.CallerId(number="0301234567", name="Lisa", time="11230845"))
    spoilt = bytearray(callerid.encode(callerid.CallerId(number="5551212", time="11230846"), "sdmf"))
    spoilt[12] ^= 0x01
    gap = np.zeros(4000, np.int16)
    audio = np.concatenate([gap, callerid.fsk_audio(good, "v23", level_dbm0=-20.0), gap,
                            callerid.dtmf_clip_audio("0123456789"), gap,
                            callerid.fsk_audio(bytes(spoilt), "bell202", level_dbm0=-25.0), gap])
    return write_pcm16(tmp_path / "cid.wav", audio), good, bytes(spoilt)


@pytest.mark.parametrize("block_ms", [20, 1000])
def test_caller_id_json(tmp_path, capsys, block_ms):
    path, good, spoilt = caller_id_recording(tmp_path)
    status, out, err = run_main(capsys, "analyze", "--detect", "callerid", "--json", "--block-ms", block_ms, path)
    assert (status, err) == (0, "")
    (record,) = json_lines(out)
    assert "digits" not in record  # DTMF runs for DTMF CLIP, but was not asked for
    fsk, dtmf, failed = record["callerid"]
    assert fsk == {"start": pytest.approx(0.5, abs=0.02), "end": fsk["end"], "standard": "v23", "format": "mdmf",
                   "number": "0301234567", "name": "Lisa", "time": "11230845", "number_absent_reason": None,
                   "name_absent_reason": None, "message": good.hex()}
    assert (dtmf["standard"], dtmf["format"], dtmf["number"]) == ("dtmf", "dtmf", "0123456789")
    assert (failed["standard"], failed["error"], failed["message"]) == (None, "checksum-failed", spoilt.hex())
    assert fsk["end"] < dtmf["start"] < dtmf["end"] < failed["start"]


def test_caller_id_table_with_digits(tmp_path, capsys):
    path, _, _ = caller_id_recording(tmp_path)
    status, out, _ = run_main(capsys, "analyze", "--detect", "dtmf,callerid", path)
    assert status == 0
    lines = out.splitlines()
    assert "  digits: A0123456789C" in lines
    assert any(line.startswith("  caller ID: 0301234567, Lisa, 11/23 08:45 (v23 mdmf) at 0.50-") for line in lines)
    assert any(line.startswith("  caller ID: 0123456789 (dtmf) at ") for line in lines)
    assert any(line.startswith("  caller ID: failed (checksum-failed) at ") for line in lines)


def test_no_caller_id_in_a_dtmf_recording(capsys):
    status, out, _ = run_main(capsys, "analyze", "--detect", "callerid", FIXTURE_FILES[0])
    assert status == 0 and "  caller ID: (none)" in out.splitlines()


# --- MF register signals -------------------------------------------------------------------

def mf_recording(path):
    """R1 KP 1 2 ST, then R2 forward 1 15 and backward 3 (NumPy-made); the truth per kind."""
    from tests.dsp import mf_signals

    truth, parts = {}, []
    for kind, numbers, on in (("mfr1", (13, 1, 2, 15), 68), ("mfr2_fwd", (1, 15), 150), ("mfr2_bwd", (3,), 150)):
        tape = mf_signals.tape_for(kind, "analyze")
        for number in numbers:
            tape.signal(number, mf_signals.ms(100 if number == 13 else on)).silence(mf_signals.ms(68))
        offset = sum(len(p) for p in parts)
        truth[kind] = [(mf_signals.name(kind, b.signal), (offset + b.start) / 8000, (offset + b.end) / 8000)
                       for b in tape.bursts]
        parts.append(tape.samples())
    write_pcm16(path, mf_signals.quantize(np.concatenate(parts))[:, np.newaxis], 8000)
    return truth


def test_mf_signals_in_the_prediction_record(tmp_path, capsys):
    truth = mf_recording(tmp_path / "mf.wav")
    status, out, err = run_main(capsys, "analyze", "--json", "--detect", "mfr1,mfr2_fwd,mfr2_bwd", tmp_path / "mf.wav")
    assert (status, err) == (0, "")
    [record] = json_lines(out)
    assert "digits" not in record
    for kind, signals in truth.items():
        assert [s["signal"] for s in record[kind]] == [name for name, _, _ in signals], kind
        for got, (_, start, end) in zip(record[kind], signals):
            assert got["start"] == pytest.approx(start, abs=TIME_TOLERANCE_S)
            assert got["end"] == pytest.approx(end, abs=TIME_TOLERANCE_S)


def test_mf_signals_in_the_table(tmp_path, capsys):
    mf_recording(tmp_path / "mf.wav")
    status, out, _ = run_main(capsys, "analyze", "--detect", "mfr2_fwd,mfr1", tmp_path / "mf.wav")
    assert status == 0
    assert "  mfr2_fwd: 1 15\n" in out and "  mfr1: KP 1 2 ST\n" in out and "mfr2_bwd" not in out
