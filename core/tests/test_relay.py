"""The per-driver relay: exactly one driver answers; plugins may only wrap; the contract is checked."""

import pytest

from pycnm import hookimpl
from pycnm._relay import NetworkRelay
from pycnm.discovery import DriverEntry, check_contract
from pycnm.errors import DriverLoadError, Internal, NotFound
from pycnm.model import Capabilities

ENTRY = DriverEntry("fake", "pycnm.network_drivers", "fake:Driver", "pycnm-fake", "1.2.3")


class Driver:
    def __init__(self):
        self.calls = []

    @hookimpl
    def cnm_get_capabilities(self):
        return Capabilities(scope="local")

    @hookimpl
    def cnm_create_network(self, network_id):  # takes only what it needs
        self.calls.append(("create", network_id))

    @hookimpl
    def cnm_delete_network(self, network_id):
        raise NotFound(f"network {network_id} not found")

    @hookimpl
    def cnm_create_endpoint(self, network_id, endpoint_id, interface, options):
        raise RuntimeError("boom")

    @hookimpl
    def cnm_delete_endpoint(self, network_id, endpoint_id):
        pass

    @hookimpl
    def cnm_join(self, network_id, endpoint_id):
        return None

    @hookimpl
    def cnm_leave(self, network_id, endpoint_id):
        pass


def test_calls_reach_the_driver_with_the_arguments_it_asks_for():
    driver = Driver()
    relay = NetworkRelay(driver, ENTRY)
    relay.create_network("n1", {}, [], [])
    assert driver.calls == [("create", "n1")]
    assert relay.capabilities.scope.value == "local"


def test_typed_errors_pass_through_and_others_name_the_driver_and_call():
    relay = NetworkRelay(Driver(), ENTRY)
    with pytest.raises(NotFound, match="network n1 not found"):
        relay.delete_network("n1")
    with pytest.raises(
        Internal,
        match=r"network driver 'fake' \(pycnm-fake 1.2.3\) failed in cnm_create_endpoint: "
        r"RuntimeError: boom",
    ):
        relay.create_endpoint("n1", "e1", None, {})


def test_optional_calls_have_defaults():
    relay = NetworkRelay(Driver(), ENTRY)
    assert relay.endpoint_oper_info("n", "e") == {}
    relay.program_external_connectivity("n", "e", {})
    relay.revoke_external_connectivity("n", "e")
    assert relay.join("n", "e", "/x", {}, "eth0").interface_name is None


def test_a_wrapper_plugin_sees_every_call():
    seen = []

    class Audit:
        @hookimpl(wrapper=True)
        def cnm_create_network(self, network_id):
            seen.append(("before", network_id))
            result = yield
            seen.append(("after", network_id))
            return result

    driver = Driver()
    NetworkRelay(driver, ENTRY, [Audit()]).create_network("n2", {}, [], [])
    assert seen == [("before", "n2"), ("after", "n2")] and driver.calls == [("create", "n2")]


def test_a_plugin_may_not_answer_a_driver_call():
    class Hijack:
        @hookimpl
        def cnm_create_network(self, network_id):
            return "mine"

    with pytest.raises(DriverLoadError, match=r"plugin .* answers the driver call cnm_create_network"):
        NetworkRelay(Driver(), ENTRY, [Hijack()])


def test_a_misspelt_hook_is_refused():
    class Typo(Driver):
        @hookimpl
        def cnm_create_netwrok(self, network_id):
            pass

    with pytest.raises(DriverLoadError, match="cnm_create_netwrok"):
        NetworkRelay(Typo(), ENTRY)


def test_a_wrong_argument_name_is_refused():
    class WrongArg(Driver):
        @hookimpl
        def cnm_delete_network(self, net_id):
            pass

    with pytest.raises(DriverLoadError, match="net_id"):
        NetworkRelay(WrongArg(), ENTRY)


def test_missing_required_calls_are_named():
    class Half:
        @hookimpl
        def cnm_get_capabilities(self):
            return Capabilities(scope="local")

    with pytest.raises(DriverLoadError, match=r"does not implement the required call.*cnm_create_network.*cnm_leave"):
        NetworkRelay(Half(), ENTRY)


@pytest.mark.parametrize("declared", [(2, 0), (1, 99)])
def test_a_driver_built_for_another_contract_is_refused(declared):
    class Future(Driver):
        pycnm_contract = declared

    with pytest.raises(DriverLoadError, match=r"'fake' \(pycnm-fake 1.2.3\) was built for driver contract"):
        check_contract(Future(), ENTRY)


def test_a_driver_for_this_contract_loads():
    class Now(Driver):
        pycnm_contract = (1, 0)

    check_contract(Now(), ENTRY)
