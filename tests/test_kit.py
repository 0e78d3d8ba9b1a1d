"""The conformance kit fails a broken driver, with messages that say what to fix."""

import textwrap

import pytest

pytestmark = pytest.mark.privileged

BROKEN = textwrap.dedent('''
    import os
    from pycnm import hookimpl
    from pycnm.model import Capabilities, InterfaceName, JoinInfo
    from pycnm.osl import netlink


    class Sloppy:
        """Forgets errors, and leaks the link it makes for a join."""

        pycnm_conformance = {"interface": True}

        def __init__(self):
            self.endpoints = set()

        @hookimpl
        def cnm_get_capabilities(self):
            return Capabilities(scope="local")

        @hookimpl
        def cnm_create_network(self, network_id):
            pass

        @hookimpl
        def cnm_delete_network(self, network_id):
            pass  # never says NotFound

        @hookimpl
        def cnm_create_endpoint(self, network_id, endpoint_id):
            self.endpoints.add(endpoint_id)

        @hookimpl
        def cnm_delete_endpoint(self, network_id, endpoint_id):
            self.endpoints.discard(endpoint_id)

        @hookimpl
        def cnm_join(self, network_id, endpoint_id, sandbox_key, dst_name):
            fd = os.open(sandbox_key, os.O_RDONLY)
            try:
                netlink.batch("", lambda b: b.veth_add("sl" + endpoint_id[:8], master=0, mtu=1500, up=True,
                                                       peer_name=dst_name, peer_netns_fd=fd))
            finally:
                os.close(fd)
            return JoinInfo(interface_name=InterfaceName(dst_name, dst_name=dst_name, created_in_sandbox=True))

        @hookimpl
        def cnm_leave(self, network_id, endpoint_id):
            pass  # leaves the veth behind, and never says NotFound
''')


def test_a_broken_driver_fails_the_kit_with_messages_that_say_what_to_fix(pytester):
    pytester.makepyfile(sloppy_driver=BROKEN)
    result = pytester.runpytest_subprocess(
        "-p", "pycnm.testing.plugin", "--pycnm-driver-object", "sloppy_driver:Sloppy", "-p", "no:cacheprovider"
    )
    out = result.stdout.str()
    assert result.ret == 1
    assert "cnm_delete_network returned None; it must raise pycnm.errors.NotFound for a network it does not know" in out
    assert "cnm_leave returned None; it must raise pycnm.errors.NotFound for an endpoint that is not joined" in out
    assert "links left in the host" in out and "cnm_leave" in out
    assert "does not claim 'gateway'" not in out or "SKIPPED" in out
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] >= 3 and outcomes.get("passed", 0) >= 5


def test_a_good_driver_passes_with_its_unclaimed_tests_skipped(pytester):
    result = pytester.runpytest_subprocess(
        "-p", "pycnm.testing.plugin", "--pycnm-driver", "null", "-rs", "-p", "no:cacheprovider"
    )
    assert result.ret == 0
    assert "the driver does not claim 'interface'" in result.stdout.str()
