"""The exchange's hook decoder: pulses, flashes, hang-ups from timed hook changes."""

from hypothesis import given, strategies as st

from gateway.boards.sim.hook import DIGIT_GAP_MS, Flashed, HookDecoder, PulseDialled, Released, Seized


def pulses(decoder, start, digit, break_ms=60, make_ms=40):
    t = start
    events = []
    for _ in range(10 if digit == "0" else int(digit)):
        events += decoder.change(t, False)
        t += break_ms
        events += decoder.change(t, True)
        t += make_ms
    return events, t


def test_seizure_digits_and_hang_up():
    d = HookDecoder()
    assert d.change(100, True) == [Seized(100)]
    events = []
    t = 1000
    for digit in "2090":
        more, t = pulses(d, t, digit)
        events += more
        events += d.poll(t + 700)
        t += 700
    assert [e.digit for e in events if isinstance(e, PulseDialled)] == list("2090")
    assert d.change(t, False) == []
    assert d.poll(t + 399) == []
    assert d.poll(t + 400) == [Released(t + 400)]
    assert d.change(t + 5000, True) == [Seized(t + 5000)]


def test_digit_ends_only_after_the_gap():
    d = HookDecoder(offhook=True)
    events, t = pulses(d, 0, "3")
    assert not events
    assert d.poll(t - 40 + DIGIT_GAP_MS - 5) == []
    assert d.poll(t - 40 + DIGIT_GAP_MS) == [PulseDialled("3", t - 40 + DIGIT_GAP_MS)]


def test_flash_hit_and_bad_digit():
    d = HookDecoder(offhook=True)
    assert d.change(0, False) == [] and d.change(10, True) == []           # a 10 ms hit
    assert d.change(100, False) == [] and d.change(300, True) == [Flashed(300)]
    events, t = pulses(d, 1000, "9")
    more, t = pulses(d, t, "3")                                              # 12 pulses without a gap
    assert d.poll(t + 500) == [] and d.bad_digits == 1


def test_a_flash_ends_the_digit_before_it():
    d = HookDecoder(offhook=True)
    events, t = pulses(d, 0, "4")
    d.change(t, False)
    assert d.change(t + 200, True) == [PulseDialled("4", t - 40 + DIGIT_GAP_MS), Flashed(t + 200)]


def test_hang_up_found_by_a_change_without_polls():
    d = HookDecoder(offhook=True)
    d.change(0, False)
    assert d.change(1000, True) == [Released(400), Seized(1000)]


@given(st.lists(st.tuples(st.integers(0, 2000), st.booleans()), max_size=60))
def test_any_hook_sequence_gives_ordered_sensible_events(steps):
    d = HookDecoder()
    t = 0
    events = []
    for gap, offhook in steps:
        t += gap
        events += d.change(t, offhook)
    events += d.poll(t + 10_000)
    times = [e.time_ms for e in events]
    seized = 0
    for event in events:
        if isinstance(event, Seized):
            seized += 1
        if isinstance(event, Released):
            seized -= 1
        assert seized in (0, 1)
        if isinstance(event, PulseDialled):
            assert event.digit in "0123456789"
    assert all(isinstance(e, (Seized, Released, Flashed, PulseDialled)) for e in events)
    assert len(times) == len(events)
