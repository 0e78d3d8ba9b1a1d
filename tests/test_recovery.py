"""A Controller started on a state dir reconciles the kernel with the store, and says what it did."""

import os
import subprocess
import sys
import textwrap

import pytest
from pyroute2 import IPRoute

from pycnm.osl import netns

from .helpers import ping

pytestmark = pytest.mark.privileged


@pytest.fixture(autouse=True)
def _in_lab(lab):
    """The bridge driver changes sysctls and nftables: do it in the lab's stand-in host."""
    return lab


CRASHER = textwrap.dedent("""
    import os, sys
    import pycnm
    from pycnm import Controller

    class Crash:
        # a pycnm.plugins-style wrapper that kills the process right after the driver's call
        def __init__(self, hook):
            def crash():
                yield
                os._exit(9)
            setattr(self, hook, pycnm.hookimpl(wrapper=True)(crash))

    state, prefix, hook, step = sys.argv[1:5]
    crash = Crash(hook)
    ctl = Controller(state, netns_prefix=prefix + "-", ifname_prefix=prefix, plugins=[])
    if step == "create_network":
        ctl.close()
        ctl = Controller(state, netns_prefix=prefix + "-", ifname_prefix=prefix, plugins=[crash])
        ctl.create_network("crashy", "bridge", subnet="10.61.0.0/24")
    elif step == "disconnect":
        ctl.create_network("crashy", "bridge", subnet="10.61.0.0/24")
        ctl.connect("crashy", ctl.create_sandbox("victim"))
        ctl.close()
        ctl = Controller(state, netns_prefix=prefix + "-", ifname_prefix=prefix, plugins=[crash])
        ctl.disconnect("crashy", "victim")
    else:
        net = ctl.create_network("crashy", "bridge", subnet="10.61.0.0/24")
        sb = ctl.create_sandbox("victim")
        ctl.close()
        ctl = Controller(state, netns_prefix=prefix + "-", ifname_prefix=prefix, plugins=[crash])
        ctl.connect("crashy", "victim")
    sys.exit(3)  # not reached: the wrapper exits first
""")


def crash_during(tmp_path, prefix, hook, step):
    script = tmp_path / "crash.py"
    script.write_text(CRASHER)
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "state"), prefix, hook, step],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 9, out.stderr


def links_with(prefix):
    """pycnm's links of this test (the lab's uplink aside)."""
    with IPRoute() as ipr:
        return sorted(
            name
            for name in (link.get_attr("IFLA_IFNAME") for link in ipr.link("dump"))
            if name.startswith(prefix) and name != f"{prefix}up"
        )


def test_a_crash_after_the_driver_made_the_bridge_is_undone(controller_factory, tmp_path, prefix):
    crash_during(tmp_path, prefix, "cnm_create_network", "create_network")
    assert links_with(prefix)  # the crash left the bridge behind
    ctl = controller_factory()
    assert any("removing network crashy (left creating)" in line for line in ctl.reconciled)
    assert ctl.networks() == [] and links_with(prefix) == []
    assert ctl.store.list("ipam/bits/") == []
    ctl.create_network("crashy", "bridge", subnet="10.61.0.0/24")  # the subnet is free again


def test_a_crash_during_connect_s_join_undoes_the_whole_connect(controller_factory, tmp_path, prefix):
    crash_during(tmp_path, prefix, "cnm_join", "join")
    ctl = controller_factory()
    assert any("undoing connect of endpoint victim on crashy (left joining)" in line for line in ctl.reconciled)
    net = ctl.network("crashy")
    assert net.endpoints() == []  # the endpoint connect made went with it
    assert [n for n in links_with(prefix) if "veth" in n] == []
    sb = ctl.sandbox("victim")
    ctl.connect(net, sb)
    assert ping(sb.key, "10.61.0.1")


def test_a_crash_inside_disconnect_is_finished_whole(controller_factory, tmp_path, prefix):
    """libnetwork's best-known failure after a daemon crash: the endpoint connect made outlived
    its disconnect, and the network could never be removed."""
    crash_during(tmp_path, prefix, "cnm_leave", "disconnect")
    ctl = controller_factory()
    assert any("finishing disconnect of endpoint victim on crashy (left leaving)" in line for line in ctl.reconciled)
    assert ctl.network("crashy").endpoints() == []
    assert ctl.sandbox("victim").endpoints() == []
    ctl.network("crashy").delete()  # no "active endpoints" left
    assert [n for n in links_with(prefix) if "veth" in n] == []


def test_a_sandbox_whose_namespace_vanished_is_dropped(controller_factory):
    ctl = controller_factory()
    net = ctl.create_network("n", "bridge", subnet="10.62.0.0/24")
    sb = ctl.create_sandbox("gone")
    ctl.connect(net, sb)
    ctl.close()
    netns.delete(sb.key)  # someone removed it behind pycnm's back
    again = controller_factory()
    assert any("dropping sandbox gone" in line and "namespace is gone" in line for line in again.reconciled)
    assert again.sandboxes() == []
    assert again.network("n").endpoints() == []
    again.network("n").delete()


def test_an_orphan_namespace_of_ours_is_removed(controller_factory, prefix):
    ctl = controller_factory()
    path = os.path.join(ctl.netns_dir, f"{prefix}-deadbeef0000")
    netns.create(path)
    ctl.close()
    again = controller_factory()
    assert any(f"removing namespace {path}" in line for line in again.reconciled)
    assert not os.path.exists(path)


def test_a_namespace_that_only_starts_with_our_prefix_is_left_alone(controller_factory, prefix):
    # another tool's namespace (a benchmark's stand-in host was one) named "<prefix>host"
    ctl = controller_factory()
    path = os.path.join(ctl.netns_dir, f"{prefix}-host")
    netns.create(path)
    try:
        ctl.close()
        again = controller_factory()
        assert not any(path in line for line in again.reconciled)
        assert os.path.exists(path)
    finally:
        netns.delete(path)


def test_a_vanished_bridge_is_recreated(controller_factory):
    ctl = controller_factory()
    net = ctl.create_network("n", "bridge", subnet="10.63.0.0/24")
    bridge = f"{ctl.ifname_prefix}br-{net.id}"[:15]
    ctl.close()
    with IPRoute() as ipr:
        ipr.link("del", ifname=bridge)
    again = controller_factory()
    sb = again.create_sandbox("s")
    again.connect("n", sb)
    assert ping(sb.key, "10.63.0.1")


def test_two_state_directories_with_default_prefixes_leave_each_other_s_namespaces_alone(
    tmp_path, monkeypatch, no_leaks
):
    # a daemon on one state directory and the CLI on another, both with the default prefix: each
    # used to remove the other's sandbox namespaces at start-up ("no sandbox record")
    from pycnm import Controller

    monkeypatch.delenv("PYCNM_NETNS_PREFIX", raising=False)
    monkeypatch.delenv("PYCNM_NETNS_DIR", raising=False)
    # (in /run/netns, already a mount point: a private directory would be left mounted)
    first = Controller(str(tmp_path / "a"), plugins=[])
    sb = first.create_sandbox("s")
    try:
        assert os.path.basename(sb.key).startswith("pycnm-") and os.path.basename(sb.key).count("-") == 2
        second = Controller(str(tmp_path / "b"), plugins=[])
        try:
            assert second.netns_prefix != first.netns_prefix
            assert second.reconciled == [] and os.path.exists(sb.key)
        finally:
            second.close()
    finally:
        sb.delete()
        first.close()
