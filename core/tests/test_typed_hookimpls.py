"""The drivers authors copy (null, bridge, the template) carry the contract's types on every hook."""

import importlib.util
import inspect
import os

import pytest

from pycnm import hookspecs

TEMPLATE = os.path.join(
    os.path.dirname(__file__), "..", "..", "contrib", "driver-template", "src", "pycnm_mydriver", "__init__.py"
)
SPECS = {
    name: fn
    for cls in (
        hookspecs.NetworkDriverSpec,
        hookspecs.PeerSpec,
        hookspecs.IPAMDriverSpec,
        hookspecs.HostSpec,
        hookspecs.DriverSourceSpec,
    )
    for name, fn in vars(cls).items()
    if name.startswith(("cnm_", "ipam_"))
}


def _template_driver() -> type:
    spec = importlib.util.spec_from_file_location("pycnm_mydriver_under_test", TEMPLATE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MyDriver


def _reference_drivers() -> list[type]:
    from pycnm_null import NullDriver

    bridge = pytest.importorskip("pycnm_bridge")
    return [NullDriver, bridge.BridgeDriver, _template_driver()]


def _hookimpls(cls: type) -> list[tuple[str, object]]:
    return [(name, fn) for name, fn in vars(cls).items() if getattr(fn, "pycnm_impl", None) is not None]


@pytest.mark.parametrize("driver", _reference_drivers(), ids=lambda cls: cls.__name__)
def test_every_hook_of_a_reference_driver_is_annotated_as_its_hookspec(driver):
    impls = _hookimpls(driver)
    assert impls, f"{driver.__name__} has no @hookimpl methods"
    for name, fn in impls:
        want = inspect.signature(SPECS[name])
        got = inspect.signature(fn)
        for param in list(got.parameters.values())[1:]:
            expected = want.parameters[param.name].annotation
            assert param.annotation == expected, (
                f"{driver.__name__}.{name}: annotate {param.name} as the hookspec does: {expected}"
            )
        assert got.return_annotation == want.return_annotation, (
            f"{driver.__name__}.{name}: annotate the return as the hookspec does: -> {want.return_annotation}"
        )
