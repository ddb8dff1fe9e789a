"""Hypothesis: whatever the far end, the detector and the host do, an R2 channel never
raises (except UsageError for a host command out of place), keeps its tones and ABCD
well-formed, and once the far end goes idle it returns to rest; and two channels back to
back carry any numbers and category."""

from hypothesis import HealthCheck, given, settings, strategies as st

from gateway.errors import UsageError
from gateway.line_signal import PlayMf, SetAbcd, Signal, StopMf
from gateway.r2 import R2Channel, R2State, variants
from tests.r2.wire import Wire

VARIANTS = sorted(variants())

times = st.one_of(st.floats(0, 0.05), st.floats(0, 0.6), st.sampled_from([0.0, 0.02, 5.1, 30.5, 61.0]))
steps = st.lists(st.one_of(
    st.tuples(st.just("abcd"), st.integers(0, 15), times),
    st.tuples(st.just("began"), st.integers(1, 15), times),
    st.tuples(st.just("ended"), st.none(), times),
    st.tuples(st.just("tick"), st.none(), times),
    st.tuples(st.just("host"), st.sampled_from(["make_call", "accept", "reject", "answer", "hangup", "block",
                                                "unblock"]), times),
), max_size=60)


class Checked:
    """A channel run the way a runtime runs it: deadlines first, then the input."""

    def __init__(self, channel):
        self.ch = channel
        self.now = 0.0
        self.playing = False
        self.sent = channel.line.sent
        self.offers = 0
        self.frees = 0

    def take(self, actions):
        for action in actions:
            if isinstance(action, PlayMf):
                assert not self.playing and 1 <= action.signal <= 15 and action.group in ("I", "II", "III", "A", "B", "C")
                self.playing = True
            elif isinstance(action, StopMf):
                assert self.playing
                self.playing = False
            elif isinstance(action, SetAbcd):
                assert 0 <= action.bits <= 15 and action.bits != self.sent
                self.sent = action.bits
            elif isinstance(action, Signal):
                if action.kind == "offered":
                    assert self.offers == self.frees      # no second call before the first one's end
                    self.offers += 1
                elif action.kind == "free" and self.offers > self.frees:
                    self.frees += 1
        assert isinstance(self.ch.state, R2State)

    def advance(self, dt):
        end = self.now + dt
        while self.ch.next_deadline is not None and self.ch.next_deadline <= end:
            self.now = max(self.now, self.ch.next_deadline)
            self.take(self.ch.tick(self.now))
        self.now = end

    def host(self, command):
        ch, now = self.ch, self.now
        try:
            if command == "make_call":
                self.take(ch.make_call("1234", now, ani="555"))
            elif command == "reject":
                self.take(ch.reject(17, now))
            else:
                self.take(getattr(ch, command)(now))
        except UsageError:
            pass


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(VARIANTS), st.sampled_from(["both", "incoming", "outgoing"]),
       st.sampled_from(["yield", "hold"]), steps)
def test_random_events_never_raise_and_end_at_rest(variant, role, glare, script):
    run = Checked(R2Channel(variant, role=role, glare=glare, max_dnis=3, max_ani=2))
    for kind, value, dt in script:
        run.advance(dt)
        if kind == "abcd":
            run.take(run.ch.abcd(value, run.now))
        elif kind == "began":
            run.take(run.ch.mf_began(value, run.now))
        elif kind == "ended":
            run.take(run.ch.mf_ended(run.now))
        elif kind == "tick":
            run.take(run.ch.tick(run.now))
        else:
            run.host(value)
    # The host lets go, the far end goes idle and stays so: the channel comes to rest.
    run.host("unblock")
    run.host("hangup")
    run.take(run.ch.abcd(run.ch.variant.line.idle, run.now))
    run.advance(300.0)
    assert run.ch.state is R2State.IDLE, run.ch.describe()
    assert run.ch.line.state.value == "idle" and not run.ch.line.far_blocked
    assert not run.playing and run.ch.next_deadline is None and run.ch.register is None
    assert run.sent == run.ch.variant.line.idle


digits = st.text("0123456789", min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(VARIANTS), digits, st.text("0123456789", max_size=10), st.booleans(),
       st.integers(1, 12), st.integers(0, 10), st.booleans(), st.data())
def test_any_number_and_category_arrive(variant, dnis, ani, restricted, max_dnis, max_ani, ani_first, data):
    v = variants()[variant]
    category = data.draw(st.sampled_from(sorted(v.categories)))
    w = Wire(R2Channel(variant), R2Channel(variant, max_dnis=max_dnis, max_ani=max_ani, ani_first=ani_first))
    w.do("a", "make_call", dnis, ani=ani, category=category, ani_restricted=restricted)
    w.run_until(lambda: w.has("b", "offered"), limit=60)
    offered = w.signal("b", "offered")
    assert offered["dnis"] == dnis[:max_dnis] and offered["category"] == category
    if max_ani == 0:
        assert offered["ani"] == ""             # (China reads it to its end anyway, see register.py)
    elif restricted or (variant == "MX" and not ani):
        assert offered["ani"] == "" and offered["ani_restricted"]
    else:
        assert offered["ani"] == ani[:max_ani] and not offered["ani_restricted"]
    w.do("b", "answer")
    w.run_until(lambda: w.has("a", "connected"), limit=60)
    w.do("a", "hangup")
    w.settle()
    assert w.ch["a"].state is w.ch["b"].state is R2State.IDLE
    assert not w.ch["a"].errors and not w.ch["b"].errors
