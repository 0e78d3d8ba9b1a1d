"""Every first-party driver through the conformance kit (the kit driver authors use)."""

from pycnm.testing.suite import ConformanceSuite


class TestNullDriver(ConformanceSuite):
    cnm_driver_name = "null"


class TestBridgeDriver(ConformanceSuite):
    cnm_driver_name = "bridge"
