"""Two processes on one state dir: names stay unique and no address is handed out twice."""

import multiprocessing

import pytest

pytestmark = pytest.mark.privileged


def _endpoints(state, prefix, tag, count, queue):
    from pycnm import Controller
    from pycnm.errors import Forbidden

    with Controller(state, netns_prefix=f"{prefix}-", ifname_prefix=prefix, plugins=[]) as ctl:
        net = ctl.network("shared")
        got, clashes = [], 0
        for i in range(count):
            try:
                got.append(str(net.create_endpoint(f"{tag}{i}").address.ip))
            except Forbidden:
                clashes += 1
        # both processes race for the same names too
        for i in range(10):
            try:
                net.create_endpoint(f"same{i}")
            except Forbidden:
                clashes += 1
        queue.put((got, clashes))


def test_two_controllers_never_share_an_address_or_a_name(controller, prefix):
    net = controller.create_network("shared", "null", subnet="10.71.0.0/24")
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_endpoints, args=(controller.state_dir, prefix, tag, 40, queue)) for tag in "ab"]
    for p in procs:
        p.start()
    results = [queue.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    addresses = results[0][0] + results[1][0]
    assert len(addresses) == 80 and len(set(addresses)) == 80
    assert results[0][1] + results[1][1] == 10  # each "same" name was won by exactly one
    assert len(net.endpoints()) == 90
    same = [e.address for e in net.endpoints()]
    assert len(set(same)) == 90
