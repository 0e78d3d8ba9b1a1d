"""VNIs are reserved cluster-wide by compare-and-swap: never twice, a taken one refused, a freed one
reusable; two hosts reserving at once (two allocators on one store) still never collide."""

import threading

import pytest

from pycnm.errors import Forbidden, NotFound
from pycnm.store import MemoryStore, Put
from pycnm_overlay.driver import VNI_FIRST, VNIs

SPAN = (1 << 24) - VNI_FIRST


def nid(head: int, tail: int = 0) -> str:
    """A network ID; its first 12 hex digits decide its first choice of VNI."""
    return f"{head:012x}{tail:052x}"


def test_reserved_vnis_are_distinct_and_start_at_4096():
    vnis = VNIs(MemoryStore())
    got = [vnis.reserve(nid(i), None) for i in range(50)]
    assert len(set(got)) == 50 and all(v >= VNI_FIRST for v in got)


def test_a_network_whose_first_choice_is_taken_gets_the_next_free():
    vnis = VNIs(MemoryStore())
    first = vnis.reserve(nid(1), None)
    # a network ID whose hash lands on the same first choice
    same = nid(1 + SPAN)
    assert vnis.reserve(same, None) == first + 1


def test_an_asked_for_vni_is_refused_when_taken_and_free_again_after_release():
    vnis = VNIs(MemoryStore())
    assert vnis.reserve(nid(1), 5000) == 5000
    with pytest.raises(Forbidden, match="VNI 5000 is in use by network 000000000001"):
        vnis.reserve(nid(2), 5000)
    vnis.release(nid(1))
    assert vnis.reserve(nid(2), 5000) == 5000
    with pytest.raises(NotFound):
        vnis.release(nid(1))


def test_two_hosts_reserving_at_once_never_share_a_vni():
    store = MemoryStore()
    hosts = [VNIs(store), VNIs(store)]
    got: list[int] = []
    lock = threading.Lock()

    def reserve(host, base):
        for i in range(100):
            # every network's first choice is the same VNI: the worst case for a race
            vni = host.reserve(nid(i * SPAN, base + i), None)
            with lock:
                got.append(vni)

    threads = [threading.Thread(target=reserve, args=(h, k * 1000)) for k, h in enumerate(hosts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 200 and len(set(got)) == 200
    assert len(store.list("vni/")) == 200


class Contended(MemoryStore):
    """Another host's network takes each VNI this host tries, just before it, ``losses`` times."""

    def __init__(self, losses: int) -> None:
        super().__init__()
        self.losses = losses

    def commit(self, ops):
        key = ops[0].key
        if self.losses and key.startswith("vni/") and self.get(key) is None:
            self.losses -= 1
            super().commit([Put(key, b"f" * 64, 0)])
        return super().commit(ops)


def test_losing_many_races_in_a_row_still_reserves_one():
    """Losing a race is no sign that every VNI is in use: go on to the next."""
    store = Contended(losses=40)
    vni = VNIs(store).reserve(nid(7), None)
    held_by_others = {int(e.key.split("/")[1]) for e in store.list("vni/") if e.value == b"f" * 64}
    assert len(held_by_others) == 40 and vni not in held_by_others
    assert store.get(f"vni/{vni:08d}").value == nid(7).encode()
    assert VNIs(store).reserve(nid(7), None) == vni  # asked again: the one it holds


def test_without_a_store_nothing_is_reserved():
    with pytest.raises(Forbidden, match="cluster store"):
        VNIs(None).reserve(nid(1), None)
