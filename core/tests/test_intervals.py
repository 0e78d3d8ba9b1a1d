"""pools.Intervals finds an overlapping network by bisection: checked against comparing each pair."""

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from pycnm.ipam.pools import Intervals

v4 = st.builds(
    lambda a, p: ipaddress.ip_network((a, p), strict=False), st.integers(0, (1 << 32) - 1), st.integers(8, 32)
)
v6 = st.builds(
    lambda a, p: ipaddress.ip_network((a, p), strict=False), st.integers(0, (1 << 128) - 1), st.integers(16, 128)
)
nets = st.one_of(v4, v6)


@settings(max_examples=300)
@given(st.lists(nets, max_size=30), st.lists(nets, min_size=1, max_size=10), st.data())
def test_overlapping_agrees_with_pairwise(held, probes, data):
    index = Intervals(held[: len(held) // 2])
    for net in held[len(held) // 2 :]:
        index.add(net)
    kept = list(held)
    if kept:
        gone = data.draw(st.sampled_from(kept))
        index.remove(gone)
        kept.remove(gone)
    assert len(index) == len(kept)
    for probe in probes:
        found = index.overlapping(probe)
        expected = [n for n in kept if n.version == probe.version and n.overlaps(probe)]
        if expected:
            assert found is not None and found.overlaps(probe) and found in kept
        else:
            assert found is None


def test_a_network_inside_a_larger_one_is_found():
    index = Intervals([ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("11.0.0.0/24")])
    assert index.overlapping(ipaddress.ip_network("10.200.3.0/24")) == ipaddress.ip_network("10.0.0.0/8")
    assert index.overlapping(ipaddress.ip_network("11.0.1.0/24")) is None
