"""Board kind descriptors against the tables of boards/PROTOCOL.md and boards/IMAGE.md."""

import pytest

from gateway.boards import kinds
from gateway.boards.kinds import Capability
from gateway.errors import UsageError


def test_codes_and_shapes_are_the_documents():
    assert [(k.name, k.code) for k in kinds.KINDS] == [("e1x2", 1), ("fxo4", 2), ("fxs4", 3)]
    assert (kinds.E1X2.spans, kinds.E1X2.channels_per_span, kinds.E1X2.ports) == (2, 30, 0)
    assert (kinds.FXO4.ports, kinds.FXS4.ports, kinds.FXO4.spans) == (4, 4, 0)
    assert Capability.E1 in kinds.E1X2.capabilities and Capability.FXO not in kinds.E1X2.capabilities
    assert Capability.FXO in kinds.FXO4.capabilities and Capability.FXS in kinds.FXS4.capabilities
    assert int(kinds.ALL_CAPABILITIES) == 1023
    assert [int(c) for c in Capability] == [1 << i for i in range(10)]


def test_flash_layout_is_image_md():
    for kind in kinds.KINDS:
        f = kind.flash
        assert f.page_size == 1024 and f.total == 3200 * 1024
        assert (f.bootloader.offset, f.bootloader.size) == (0, 64 * 1024)
        assert (f.slot_a.offset, f.slot_a.size) == (0x10000, 1536 * 1024)
        assert (f.slot_b.offset, f.slot_b.size) == (0x190000, 1536 * 1024)
        assert [(c.offset, c.size) for c in f.config] == [(0x310000, 4096), (0x311000, 4096)]
        regions = f.regions()
        for before, after in zip(regions, regions[1:]):  # in order, no overlap, page aligned
            assert before.end <= after.offset
        assert all(r.offset % f.page_size == 0 and r.size % f.page_size == 0 for r in regions)
        assert regions[-1].end <= f.total
        assert f.max_payload == 1536 * 1024 - 192
        assert f.slot(0) is f.slot_a and f.slot(1) is f.slot_b
    with pytest.raises(UsageError, match="slots are 0"):
        kinds.FXO4.flash.slot(2)


def test_lookup():
    assert kinds.kind_by_name("FXS4") is kinds.FXS4
    assert kinds.kind_by_code(1) is kinds.E1X2 and kinds.kind_by_code(9) is None
    with pytest.raises(UsageError, match="known: e1x2, fxo4, fxs4"):
        kinds.kind_by_name("fxo8")
