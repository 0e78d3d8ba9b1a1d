"""The whole driver contract, checked by pycnm's conformance kit (needs root: real namespaces)."""

from pycnm.testing.suite import ConformanceSuite


class TestMyDriver(ConformanceSuite):
    # once installed (pip install -e .), name it by its entry point instead: cnm_driver_name = "mydriver"
    cnm_driver_object = "pycnm_mydriver:MyDriver"
