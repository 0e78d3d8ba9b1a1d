"""The OS layer's namespaces: bind-mounted where ``ip netns`` finds them, and removed cleanly."""

import os
import subprocess

import pytest

from pycnm.errors import Forbidden, NotFound
from pycnm.osl import netlink, netns

pytestmark = pytest.mark.privileged


def test_a_sandbox_namespace_works_with_ip_netns_exec(controller):
    sb = controller.create_sandbox("s")
    assert sb.key == os.path.join("/run/netns", sb.netns_name)
    out = subprocess.run(
        ["ip", "netns", "exec", sb.netns_name, "ip", "-o", "link"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0 and "lo:" in out.stdout and "UP" in out.stdout
    assert netns.is_namespace(sb.key)
    sb.delete()
    assert not os.path.exists(sb.key)


def test_create_twice_and_delete_missing_are_typed_errors(prefix, no_leaks):
    path = f"/run/netns/{prefix}-x"
    netns.create(path)
    try:
        with pytest.raises(Forbidden, match="already exists"):
            netns.create(path)
        assert [link.get_attr("IFLA_IFNAME") for link in netlink.ns(path).link("dump")] == ["lo"]
    finally:
        netlink.forget(path)
        netns.delete(path)
    with pytest.raises(NotFound):
        netns.delete(path)


def test_sockets_from_other_threads_are_closed_before_the_namespace_goes(prefix, no_leaks):
    import threading

    path = f"/run/netns/{prefix}-t"
    netns.create(path)
    seen = []
    worker = threading.Thread(target=lambda: seen.append(len(list(netlink.ns(path).link("dump")))))
    worker.start()
    worker.join()
    assert seen == [1]
    netlink.forget(path)
    netns.delete(path)
