"""The default IPAM driver: pools, gateways, ranges, first-free and serial, IPv6, big pools."""

import ipaddress
import multiprocessing

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pycnm.errors import Forbidden, InvalidParameter, NotFound, Unavailable
from pycnm.ipam.default import DefaultIPAM
from pycnm.labels import GATEWAY_REQUEST, IPAM_SERIAL, REQUEST_ADDRESS_TYPE
from pycnm.store import MemoryStore, SQLiteStore

LOCAL = "LocalDefault"


def make_ipam(store=None, host_networks=()):
    ipam = DefaultIPAM()
    ipam.ipam_config(config=None, store=store or MemoryStore())
    ipam.host_networks = lambda: [ipaddress.ip_network(n) for n in host_networks]
    return ipam


def req(ipam, pool_id, address="", **options):
    return ipam.ipam_request_address(pool_id=pool_id, address=address, options=options).address


def pool(ipam, subnet="", sub="", v6=False, space=LOCAL):
    return ipam.ipam_request_pool(address_space=space, pool=subnet, sub_pool=sub, options={}, v6=v6)


def test_first_address_goes_to_the_gateway_then_in_order():
    ipam = make_ipam()
    p = pool(ipam, "10.31.0.0/24")
    assert p.pool_id == "LocalDefault/10.31.0.0/24"
    assert str(req(ipam, p.pool_id, **{REQUEST_ADDRESS_TYPE: GATEWAY_REQUEST})) == "10.31.0.1/24"
    assert str(req(ipam, p.pool_id)) == "10.31.0.2/24"
    assert str(req(ipam, p.pool_id)) == "10.31.0.3/24"


def test_network_and_broadcast_are_never_handed_out():
    ipam = make_ipam()
    p = pool(ipam, "10.1.0.0/29")
    got = [str(req(ipam, p.pool_id).ip) for _ in range(6)]
    assert got == [f"10.1.0.{i}" for i in range(1, 7)]
    with pytest.raises(Unavailable, match="no available addresses"):
        req(ipam, p.pool_id)
    with pytest.raises(InvalidParameter, match="out of range"):
        req(ipam, p.pool_id, "10.1.0.7")
    with pytest.raises(InvalidParameter, match="out of range"):
        req(ipam, p.pool_id, "10.1.0.0")


def test_released_addresses_are_reused_lowest_first():
    ipam = make_ipam()
    p = pool(ipam, "10.2.0.0/24")
    addrs = [req(ipam, p.pool_id) for _ in range(5)]
    ipam.ipam_release_address(pool_id=p.pool_id, address=str(addrs[1].ip))
    assert req(ipam, p.pool_id) == addrs[1]


def test_serial_allocation_delays_reuse():
    ipam = make_ipam()
    p = pool(ipam, "10.3.0.0/24")
    a = req(ipam, p.pool_id, **{IPAM_SERIAL: "true"})
    b = req(ipam, p.pool_id, **{IPAM_SERIAL: "true"})
    ipam.ipam_release_address(pool_id=p.pool_id, address=str(a.ip))
    c = req(ipam, p.pool_id, **{IPAM_SERIAL: "true"})
    assert int(c.ip) == int(b.ip) + 1


def test_serial_allocation_wraps_around():
    ipam = make_ipam()
    p = pool(ipam, "10.4.0.0/29")
    got = [req(ipam, p.pool_id, **{IPAM_SERIAL: True}) for _ in range(6)]
    ipam.ipam_release_address(pool_id=p.pool_id, address=str(got[2].ip))
    assert req(ipam, p.pool_id, **{IPAM_SERIAL: True}) == got[2]


def test_a_requested_address_is_taken_once():
    ipam = make_ipam()
    p = pool(ipam, "10.5.0.0/24")
    assert str(req(ipam, p.pool_id, "10.5.0.77")) == "10.5.0.77/24"
    with pytest.raises(Forbidden, match="already in use"):
        req(ipam, p.pool_id, "10.5.0.77")


def test_ip_range_limits_dynamic_addresses_but_not_requested_ones():
    ipam = make_ipam()
    p = pool(ipam, "10.6.0.0/16", "10.6.5.0/24")
    assert p.pool_id == "LocalDefault/10.6.0.0/16/10.6.5.0/24"
    # as libnetwork 20.10: the range's first address is a host address of the /16, so it is used
    assert str(req(ipam, p.pool_id).ip) == "10.6.5.0"
    assert str(req(ipam, p.pool_id).ip) == "10.6.5.1"
    assert str(req(ipam, p.pool_id, "10.6.0.1").ip) == "10.6.0.1"


def test_ip_range_must_lie_in_the_subnet():
    ipam = make_ipam()
    with pytest.raises(InvalidParameter, match="not inside subnet"):
        pool(ipam, "10.7.0.0/24", "10.8.0.0/25")
    with pytest.raises(InvalidParameter, match="needs a subnet"):
        pool(ipam, "", "10.8.0.0/25")


def test_unmasked_subnet_names_the_masked_form():
    ipam = make_ipam()
    with pytest.raises(InvalidParameter, match=r"should be 10\.9\.0\.0/24"):
        pool(ipam, "10.9.0.5/24")


def test_overlapping_pools_are_refused():
    ipam = make_ipam()
    pool(ipam, "10.10.0.0/16")
    with pytest.raises(Forbidden, match="overlaps"):
        pool(ipam, "10.10.5.0/24")


def test_default_pools_follow_docker_and_skip_host_routes():
    ipam = make_ipam(host_networks=["172.18.0.0/16", "0.0.0.0/0"])
    chosen = [str(pool(ipam).pool) for _ in range(3)]
    assert chosen == ["172.17.0.0/16", "172.19.0.0/16", "172.20.0.0/16"]


def test_default_pools_run_out_with_docker_s_message():
    ipam = make_ipam()
    for _ in range(15 + 16):  # 172.17-31 /16s, then 192.168/16 in /20s
        pool(ipam)
    with pytest.raises(Unavailable, match="could not find an available, non-overlapping IPv4 address pool"):
        pool(ipam)


def test_global_space_hands_out_10_slash_24s():
    ipam = make_ipam()
    assert str(pool(ipam, space="GlobalDefault").pool) == "10.0.0.0/24"
    assert str(pool(ipam, space="GlobalDefault").pool) == "10.0.1.0/24"


def test_ipv6_default_pool_is_a_ula_slash_64():
    ipam = make_ipam()
    p = pool(ipam, v6=True)
    assert p.pool.prefixlen == 64 and p.pool.is_private and str(p.pool).startswith("fd")
    assert req(ipam, p.pool_id).ip == p.pool.network_address + 1


def test_ipv6_explicit_pool_and_addresses():
    ipam = make_ipam()
    p = pool(ipam, "fd00:1::/64", v6=True)
    assert str(req(ipam, p.pool_id)) == "fd00:1::1/64"
    assert str(req(ipam, p.pool_id, "fd00:1::ffff:1")) == "fd00:1::ffff:1/64"
    assert str(req(ipam, p.pool_id)) == "fd00:1::2/64"


def test_release_pool_forgets_its_addresses():
    store = MemoryStore()
    ipam = make_ipam(store)
    p = pool(ipam, "10.11.0.0/24")
    req(ipam, p.pool_id)
    ipam.ipam_release_pool(pool_id=p.pool_id)
    assert store.list("ipam/bits/") == []
    with pytest.raises(NotFound):
        req(ipam, p.pool_id)
    p2 = pool(ipam, "10.11.0.0/24")
    assert str(req(ipam, p2.pool_id).ip) == "10.11.0.1"


def test_a_slash_16_fills_to_the_last_address():
    ipam = make_ipam()
    p = pool(ipam, "10.12.0.0/16")
    seen = set()
    for _ in range(65534):
        seen.add(req(ipam, p.pool_id).ip)
    assert len(seen) == 65534
    assert max(seen) == ipaddress.ip_address("10.12.255.254")
    with pytest.raises(Unavailable):
        req(ipam, p.pool_id)
    ipam.ipam_release_address(pool_id=p.pool_id, address="10.12.200.7")
    assert str(req(ipam, p.pool_id).ip) == "10.12.200.7"


def test_a_slash_8_costs_one_bit_per_address_in_use():
    store = MemoryStore()
    ipam = make_ipam(store)
    p = pool(ipam, "10.0.0.0/8")
    for _ in range(40000):
        req(ipam, p.pool_id)
    stored = sum(len(e.value) for e in store.list("ipam/bits/"))
    assert stored * 8 <= 2 * 40000 + 16384 * 2  # the chunks touched, one bit per address
    ipam.ipam_release_address(pool_id=p.pool_id, address="10.0.0.9")
    assert str(req(ipam, p.pool_id).ip) == "10.0.0.9"
    assert str(req(ipam, p.pool_id, "10.255.255.254").ip) == "10.255.255.254"


class IPAMModel(RuleBasedStateMachine):
    """Random requests and releases against a set: nothing twice, everything released reusable."""

    def __init__(self):
        super().__init__()
        self.ipam = make_ipam()
        self.pool = pool(self.ipam, "10.20.0.0/26")
        self.held: set = set()
        self.valid = {ipaddress.ip_address("10.20.0.0") + i for i in range(1, 63)}

    @rule(serial=st.booleans())
    def request_any(self, serial):
        if len(self.held) == len(self.valid):
            with pytest.raises(Unavailable):
                req(self.ipam, self.pool.pool_id, **{IPAM_SERIAL: serial})
            return
        got = req(self.ipam, self.pool.pool_id, **{IPAM_SERIAL: serial}).ip
        assert got not in self.held and got in self.valid
        self.held.add(got)

    @rule(offset=st.integers(1, 62))
    def request_specific(self, offset):
        want = ipaddress.ip_address("10.20.0.0") + offset
        if want in self.held:
            with pytest.raises(Forbidden):
                req(self.ipam, self.pool.pool_id, str(want))
        else:
            assert req(self.ipam, self.pool.pool_id, str(want)).ip == want
            self.held.add(want)

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def release(self, data):
        addr = data.draw(st.sampled_from(sorted(self.held)))
        self.ipam.ipam_release_address(pool_id=self.pool.pool_id, address=str(addr))
        self.held.discard(addr)

    @invariant()
    def lowest_free_is_next(self):
        free = sorted(self.valid - self.held)
        if free:
            got = req(self.ipam, self.pool.pool_id).ip
            assert got == free[0]
            self.ipam.ipam_release_address(pool_id=self.pool.pool_id, address=str(got))


TestIPAMModel = IPAMModel.TestCase
TestIPAMModel.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


def _grab(path, pool_id, count, queue):
    ipam = make_ipam(SQLiteStore(path))
    queue.put([str(req(ipam, pool_id).ip) for _ in range(count)])


def test_two_processes_on_one_store_never_share_an_address(tmp_path):
    path = str(tmp_path / "ipam.db")
    ipam = make_ipam(SQLiteStore(path))
    p = pool(ipam, "10.30.0.0/24")
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_grab, args=(path, p.pool_id, 60, queue)) for _ in range(2)]
    for w in workers:
        w.start()
    results = [queue.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    everything = results[0] + results[1]
    assert len(everything) == 120 and len(set(everything)) == 120
