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

# Nothing is imported here: every submodule imports this package first, and the CLI's client
# path (``pycnm network ls`` against a daemon) must not pay for pluggy, attrs or the Controller.
# ``hookimpl``, ``CONTRACT_VERSION`` and ``Controller`` load on first use (module __getattr__).


def __getattr__(name: str):
    if name == "hookimpl":
        import pluggy

        marker = pluggy.HookimplMarker("pycnm")
        globals()["hookimpl"] = marker  # one marker for everyone: made once, then a plain attribute
        return marker
    if name == "CONTRACT_VERSION":
        from .hookspecs import CONTRACT_VERSION

        return CONTRACT_VERSION
    if name == "Controller":
        # the Controller pulls in the store, the OS layer and pyroute2; a driver importing
        # ``hookimpl`` should not pay for that
        from .controller import Controller

        return Controller
    if name == "__version__":
        from importlib.metadata import version

        return version("pycnm")
    raise AttributeError(f"module 'pycnm' has no attribute {name!r}")


__all__ = ["CONTRACT_VERSION", "Controller", "hookimpl"]
