"""The whole driver contract, checked by pycnm's conformance kit (needs root: real namespaces)."""

from pycnm.testing.suite import ConformanceSuite


class TestMacvlanDriver(ConformanceSuite):
    cnm_driver_name = "macvlan"
