"""Running a configuration list's plugins for one operation, as libcni's ``CNIConfig`` does.

Facts from containernetworking/cni ``libcni/api.go`` (v1.1.2; GC and STATUS from v1.2.0) and
SPEC.md section 3:

- Each plugin's stdin is its plugin object with ``name`` and ``cniVersion`` of the list injected,
  ``prevResult`` when there is one, and ``runtimeConfig``: the capability arguments the runtime
  has for the capabilities that plugin declares, and nothing when there are none
  (``buildOneConfig``, ``injectRuntimeConfig``). Every other key passes through unchanged.
- ADD runs the plugins in order, each given the previous one's result; the first failure stops
  the list (``plugin type="x" failed (add): ...``). The last result is the attachment's.
- DEL runs them in reverse order, each given the cached final result of the ADD as
  ``prevResult``, from spec 0.4.0 on (a 0.3.x list gets none). A result that cannot be read is
  dropped and DEL goes on without one (libcni 1.2). The first failure stops the list.
- CHECK exists from 0.4.0 (an older list: "configuration version ... does not support the CHECK
  command"); ``disableCheck`` makes it succeed without running anything; it runs the plugins in
  order, each with the cached result, and stops at the first failure.
- GC (1.1.0 on) runs every plugin with ``name``, ``cniVersion`` and the attachments still valid
  (``cni.dev/valid-attachments``, and ``cni.dev/attachments`` as libcni 1.2.3 also sends), going
  on past failures and returning them all; STATUS (1.1.0 on) runs every plugin and stops at the
  first failure; on older lists both do nothing.

pycnm's one departure: every result a plugin returns is read (``pycnm.cni.spec.parse_result``:
a malformed one fails the ADD, naming the plugin) and re-written in the list's version before
the next plugin gets it, so a plugin that answers in another version does not hand the next one
a ``prevResult`` it did not ask for (libcni passes it on as it came; the spec says a plugin
answers in the version it was asked in, so for a conforming plugin nothing changes).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import field, frozen

from pycnm.cni import spec
from pycnm.errors import CNMError, InvalidParameter

from . import invoke
from .conflist import ConfList, PluginConf, at_least, select_version
from .errors import Failure, PluginInternal, PluginNotFound, error_for, trimmed

log = logging.getLogger(__name__)


@frozen
class Attachment:
    """libcni's ``RuntimeConf``: one attachment's parameters."""

    container_id: str
    netns: str
    ifname: str
    capability_args: Mapping[str, Any] = field(factory=dict)
    cni_args: tuple[tuple[str, str], ...] = ()

    def invocation(self, command: str, path: tuple[str, ...]) -> invoke.Invocation:
        args = ";".join(f"{k}={v}" for k, v in self.cni_args)
        return invoke.Invocation(command, self.container_id, self.netns, self.ifname, args, path)


def plugin_stdin(
    conf: ConfList,
    plugin: PluginConf,
    version: str,
    *,
    prev_result: Mapping[str, Any] | None = None,
    capability_args: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    """The configuration one plugin gets on stdin (libcni's ``buildOneConfig``)."""
    out = dict(plugin.raw)
    out["name"], out["cniVersion"] = conf.name, version
    if prev_result is not None:
        out["prevResult"] = dict(prev_result)
    wanted = {cap: value for cap, value in (capability_args or {}).items() if plugin.declares(cap)}
    if wanted:
        out["runtimeConfig"] = wanted
    out.update(extra or {})
    return json.dumps(out).encode()


def read_result(stdout: bytes, version: str, *, plugin: str, path: str, command: str = "ADD") -> dict[str, Any]:
    """A plugin's ADD output as a result in ``version``; a result without ``cniVersion`` is in the
    version asked (libcni's ``fixupResultVersion``)."""

    def bad(why: str, details: str = "") -> CNMError:
        return error_for(Failure(plugin, command, None, why, details, path=path), PluginInternal)

    try:
        data = json.loads(stdout)
    except ValueError:
        raise bad(f"returned no JSON result: {trimmed(stdout)!r}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise bad(f"returned {type(data).__name__}, not a result object")
    if not data.get("cniVersion"):
        data["cniVersion"] = version
    try:
        _given, result = spec.parse_result(data, cni_version=version, where="result")
        return spec.render_result(result, version)
    except spec.CNIError as exc:
        raise bad(f"returned a result pycnm cannot read: {exc.msg}", exc.details) from None


class Runner:
    """Runs lists with plugins found in ``path``, each execution limited to ``timeout`` seconds."""

    def __init__(
        self,
        path: tuple[str, ...],
        timeout: float,
        probe: invoke.VersionProbe | None = None,
        base_env: Mapping[str, str] | None = None,
    ) -> None:
        self.path = path
        self.timeout = timeout
        self.probe = probe or invoke.VersionProbe()
        self.base_env = base_env

    # ---- versions ---------------------------------------------------------------------------------

    def version(self, conf: ConfList) -> str:
        """The version to run ``conf`` in (:func:`~pycnm_cni.conflist.select_version`), from each
        plugin's VERSION answer (asked once per executable)."""
        answers = []
        for plugin in conf.plugins:
            path = invoke.find(plugin.type, self.path)
            supported = self.probe.supported(path, self.timeout, plugin=conf.describe(plugin), base_env=self.base_env)
            answers.append((plugin, path, supported))
        return select_version(conf, answers)

    # ---- one plugin -------------------------------------------------------------------------------

    def _call(
        self, conf: ConfList, plugin: PluginConf, stdin: bytes, invocation: invoke.Invocation
    ) -> tuple[bytes, str]:
        path = invoke.find(plugin.type, self.path)
        out = invoke.call(path, stdin, invocation, self.timeout, plugin=conf.describe(plugin), base_env=self.base_env)
        return out, path

    # ---- the list ---------------------------------------------------------------------------------

    def add(self, conf: ConfList, version: str, att: Attachment) -> dict[str, Any]:
        """ADD every plugin in order; the final result, in ``version``."""
        result: dict[str, Any] | None = None
        invocation = att.invocation("ADD", self.path)
        for plugin in conf.plugins:
            stdin = plugin_stdin(conf, plugin, version, prev_result=result, capability_args=att.capability_args)
            out, path = self._call(conf, plugin, stdin, invocation)
            result = read_result(out, version, plugin=conf.describe(plugin), path=path)
        assert result is not None  # a list has at least one plugin
        return result

    def delete(self, conf: ConfList, version: str, att: Attachment, cached: Mapping[str, Any] | None) -> None:
        """DEL every plugin in reverse order, with the ADD's cached result from 0.4.0 on.

        A plugin that answers code 3 (it does not know the container) has nothing left of the
        attachment: DEL goes on with the next, as for a success (the spec asks plugins to succeed
        on what is gone already; some answer 3 instead).
        """
        prev = self._prev_result(cached, version) if at_least(version, "0.4.0") else None
        invocation = att.invocation("DEL", self.path)
        for plugin in reversed(conf.plugins):
            stdin = plugin_stdin(conf, plugin, version, prev_result=prev, capability_args=att.capability_args)
            try:
                self._call(conf, plugin, stdin, invocation)
            except PluginNotFound as exc:
                log.info("DEL: %s; nothing of the attachment is left there", exc)

    def check(self, conf: ConfList, version: str, att: Attachment, cached: Mapping[str, Any] | None) -> None:
        """CHECK every plugin in order with the cached result (0.4.0 on; nothing with disableCheck)."""
        if not at_least(version, "0.4.0"):
            raise InvalidParameter(
                f"CNI configuration {conf.source}: configuration version {version!r} does not support the CHECK"
                " command (it exists from 0.4.0)"
            )
        if conf.disable_check:
            return
        prev = self._prev_result(cached, version)
        invocation = att.invocation("CHECK", self.path)
        for plugin in conf.plugins:
            stdin = plugin_stdin(conf, plugin, version, prev_result=prev, capability_args=att.capability_args)
            self._call(conf, plugin, stdin, invocation)

    def gc(self, conf: ConfList, version: str, valid: Sequence[tuple[str, str]]) -> list[CNMError]:
        """GC every plugin (1.1.0 on), telling it the attachments still valid; every failure is
        returned, none stops the others."""
        if not at_least(version, "1.1.0"):
            return []
        attachments = [{"containerID": cid, "ifname": ifname} for cid, ifname in valid]
        extra = {"cni.dev/valid-attachments": attachments, "cni.dev/attachments": attachments}
        invocation = invoke.Invocation("GC", path=self.path)
        errors: list[CNMError] = []
        for plugin in conf.plugins:
            try:
                self._call(conf, plugin, plugin_stdin(conf, plugin, version, extra=extra), invocation)
            except CNMError as exc:
                errors.append(exc)
        return errors

    def status(self, conf: ConfList, version: str) -> None:
        """STATUS every plugin (1.1.0 on); the first failure is raised."""
        if not at_least(version, "1.1.0"):
            return
        invocation = invoke.Invocation("STATUS", path=self.path)
        for plugin in conf.plugins:
            self._call(conf, plugin, plugin_stdin(conf, plugin, version), invocation)

    @staticmethod
    def _prev_result(cached: Mapping[str, Any] | None, version: str) -> dict[str, Any] | None:
        """The cached result in ``version`` (libcni's ``GetAsVersion``); None if it cannot be read."""
        if cached is None:
            return None
        try:
            return spec.convert_result(dict(cached), version)
        except spec.CNIError as exc:
            log.warning("the cached result cannot be read (%s); going on without it", exc)
            return None


__all__ = ["Attachment", "Runner", "plugin_stdin", "read_result"]
