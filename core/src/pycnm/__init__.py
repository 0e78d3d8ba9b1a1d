"""pycnm: Docker's Container Network Model in Python.

A hosting application uses :class:`Controller`; a driver author needs only :data:`hookimpl`
(and the value classes in :mod:`pycnm.model`, the errors in :mod:`pycnm.errors`)::

    from pycnm import hookimpl
    from pycnm.model import Capabilities

    class MyDriver:
        @hookimpl
        def cnm_get_capabilities(self):
            return Capabilities(scope="local")

and one line in the driver's ``pyproject.toml``::

    [project.entry-points."pycnm.network_drivers"]
    mydriver = "pycnm_mydriver:MyDriver"
"""

from __future__ import annotations

import pluggy

hookimpl = pluggy.HookimplMarker("pycnm")

from .hookspecs import CONTRACT_VERSION  # noqa: E402


def __getattr__(name: str):
    # The Controller pulls in the store, the OS layer and pyroute2; a driver importing
    # ``hookimpl`` should not pay for that.
    if name == "Controller":
        from .controller import Controller

        return Controller
    if name == "__version__":
        from importlib.metadata import version

        return version("pycnm")
    raise AttributeError(name)


__all__ = ["CONTRACT_VERSION", "Controller", "hookimpl"]
