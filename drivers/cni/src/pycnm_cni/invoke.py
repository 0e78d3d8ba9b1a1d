"""Finding a CNI plugin and running it once, as libcni's ``pkg/invoke`` does.

Facts from containernetworking/cni ``pkg/invoke`` (v1.1.2, unchanged in v1.2):

- ``FindInPath``: the first regular file named after the plugin's ``type`` in the search
  directories, in order; a ``type`` holding a path separator is refused.
- ``RawExec``: the plugin gets the configuration on stdin and, as its environment, the runtime's
  own environment with the ``CNI_*`` variables set on top (``CNI_COMMAND``, ``CNI_CONTAINERID``,
  ``CNI_NETNS``, ``CNI_ARGS``, ``CNI_IFNAME``, ``CNI_PATH``: the search directories joined by
  ``:``). An exec that fails with "text file busy" (the plugin being written) is retried, up to
  five times a second apart. On failure the error object is read from stdout, else stderr.
- ``GetVersionInfo``: VERSION is run with ``{"cniVersion": <libcni's own version>}`` on stdin and
  the dummy values ``CNI_NETNS=dummy``, ``CNI_IFNAME=dummy``, ``CNI_PATH=dummy`` (plugins built on
  an older ``skel`` require them); a plugin that answers "unknown CNI_COMMAND: VERSION" supports
  0.1.0; an answer without ``supportedVersions`` is 0.1.0 and 0.2.0 if its ``cniVersion`` is 0.2.0,
  an error otherwise.

What libcni leaves to its caller's context, pycnm does per execution: a timeout, after which the
plugin's whole process group is killed (a shell plugin's children would otherwise keep its pipes
open), and stderr kept for the error.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import stat
import subprocess
import time
from collections.abc import Mapping, Sequence

from attrs import frozen

from pycnm.errors import CNMError

from .errors import Failure, PluginTimeout, PluginUnavailable, error_for, trimmed

log = logging.getLogger(__name__)

#: where plugins are looked for after the network's ``cni_path`` and ``$CNI_PATH``: Debian's
#: containernetworking-plugins, then upstream's release tarballs
DEFAULT_DIRS: tuple[str, ...] = ("/usr/lib/cni", "/opt/cni/bin")
#: the version pycnm implements: what VERSION is asked in (libcni sends its own, 1.1.0 in 1.2)
OWN_VERSION = "1.1.0"
#: libcni's retries of an exec that finds the plugin's file busy, and the pause between them
BUSY_RETRIES, BUSY_PAUSE = 5, 1.0
#: how long to wait for a killed plugin's pipes to close before giving up on its output
REAP_SECONDS = 5.0


def search_path(extra: Sequence[str] = (), environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The directories to find plugins in: ``extra`` (the network's ``cni_path``), then
    ``$CNI_PATH``, then :data:`DEFAULT_DIRS`; each once, in that order."""
    env = os.environ if environ is None else environ
    dirs = [*extra, *(d for d in env.get("CNI_PATH", "").split(":") if d), *DEFAULT_DIRS]
    return tuple(dict.fromkeys(dirs))


class PluginMissing(PluginUnavailable):
    """No executable of the plugin's name in the search path."""


def find(plugin: str, path: Sequence[str]) -> str:
    """The plugin's executable: the first regular file named ``plugin`` in ``path`` (libcni's
    ``FindInPath``). Raises :class:`PluginMissing` naming the directories looked in."""
    for directory in path:
        candidate = os.path.join(directory, plugin)
        try:
            if stat.S_ISREG(os.stat(candidate).st_mode):
                return candidate
        except OSError:
            continue
    failure = Failure(
        f'type="{plugin}"',
        "FIND",
        None,
        f"no plugin {plugin!r} in {':'.join(path)}",
        "install it there, or add its directory to the network's cni_path option",
    )
    exc = PluginMissing(failure.describe())
    exc.failure = failure
    raise exc


@frozen
class Invocation:
    """The ``CNI_*`` variables of one execution."""

    command: str
    container_id: str = ""
    netns: str = ""
    ifname: str = ""
    args: str = ""
    path: tuple[str, ...] = ()

    def environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (the process's environment) with the CNI variables set over it, as libcni's
        ``Args.AsEnv``."""
        env = dict(os.environ if base is None else base)
        env.update(
            CNI_COMMAND=self.command,
            CNI_CONTAINERID=self.container_id,
            CNI_NETNS=self.netns,
            CNI_ARGS=self.args,
            CNI_IFNAME=self.ifname,
            CNI_PATH=":".join(self.path),
        )
        return env


@frozen
class Outcome:
    """How one execution ended."""

    returncode: int
    stdout: bytes
    stderr: bytes


def _spawn(path: str, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    for attempt in range(BUSY_RETRIES + 1):
        try:
            # a session of its own: on a timeout the plugin's whole process group is killed
            return subprocess.Popen(
                [path],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=dict(env),
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            if exc.errno == errno.ETXTBSY and attempt < BUSY_RETRIES:
                time.sleep(BUSY_PAUSE)
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def run(path: str, stdin: bytes, env: Mapping[str, str], timeout: float, *, plugin: str, command: str) -> Outcome:
    """Run the plugin at ``path`` once; raises :class:`~pycnm_cni.errors.PluginTimeout` when it
    outlives ``timeout`` seconds (it is killed, with its process group) and
    :class:`~pycnm_cni.errors.PluginUnavailable` when it cannot be started."""
    try:
        proc = _spawn(path, env)
    except OSError as exc:
        failure = Failure(
            plugin, command, None, f"cannot run {path}: {exc.strerror}", "make it an executable file", path=path
        )
        raise error_for(failure, PluginUnavailable) from None
    try:
        stdout, stderr = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this call started, by its ID
        except ProcessLookupError:
            pass
        try:
            _stdout, stderr = proc.communicate(timeout=REAP_SECONDS)
        except subprocess.TimeoutExpired:
            # something of the plugin left its group and holds the pipes: stop reading them
            proc.kill()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
            proc.wait()
            stderr = b""
        failure = Failure(
            plugin,
            command,
            None,
            f"did not finish within {timeout:g} s and was killed",
            stderr=trimmed(stderr),
            path=path,
        )
        raise error_for(failure, PluginTimeout) from None
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    return Outcome(proc.returncode, stdout, stderr)


def failure_of(outcome: Outcome, *, plugin: str, command: str, path: str) -> Failure:
    """The failure a non-zero exit reports: the error object on stdout, else stderr (libcni's
    ``pluginErr``), with stderr kept either way."""
    stderr = trimmed(outcome.stderr)
    if not outcome.stdout.strip():
        msg = "exited with status " + str(outcome.returncode) + (" and no error message" if not stderr else "")
        return Failure(plugin, command, None, msg, stderr=stderr, path=path)
    try:
        data = json.loads(outcome.stdout)
    except ValueError:
        text = trimmed(outcome.stdout)
        return Failure(
            plugin, command, None, f"failed, and its error output is not JSON: {text!r}", stderr=stderr, path=path
        )
    if not isinstance(data, dict):
        return Failure(
            plugin, command, None, f"failed with a non-object error output: {data!r}", stderr=stderr, path=path
        )
    code = data.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    msg, details = (str(v) if isinstance(v, str) else "" for v in (data.get("msg"), data.get("details")))
    return Failure(plugin, command, code, msg or f"exited with status {outcome.returncode}", details, stderr, path)


def call(
    path: str,
    stdin: bytes,
    invocation: Invocation,
    timeout: float,
    *,
    plugin: str,
    base_env: Mapping[str, str] | None = None,
) -> bytes:
    """Run the plugin; its stdout when it succeeds, else the typed error of its failure. stderr of a
    plugin that succeeded is logged (libcni copies it to its own stderr)."""
    outcome = run(path, stdin, invocation.environment(base_env), timeout, plugin=plugin, command=invocation.command)
    if outcome.returncode != 0:
        raise error_for(failure_of(outcome, plugin=plugin, command=invocation.command, path=path))
    if outcome.stderr.strip():
        log.info("CNI plugin %s (%s) said on stderr: %s", plugin, invocation.command, trimmed(outcome.stderr))
    return outcome.stdout


class VersionProbe:
    """Each plugin's VERSION answer, asked once per executable (again when its file changes)."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, int, int, int], tuple[str, ...]] = {}
        #: how many VERSION executions were made (tests count them)
        self.runs = 0

    def supported(
        self, path: str, timeout: float, *, plugin: str, base_env: Mapping[str, str] | None = None
    ) -> tuple[str, ...]:
        """The versions the plugin at ``path`` says it supports."""
        try:
            st = os.stat(path)
            key = (path, st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            key = (path, 0, 0, 0)
        known = self._known.get(key)
        if known is not None:
            return known
        invocation = Invocation("VERSION", netns="dummy", ifname="dummy", path=("dummy",))
        stdin = json.dumps({"cniVersion": OWN_VERSION}).encode()
        self.runs += 1
        outcome = run(path, stdin, invocation.environment(base_env), timeout, plugin=plugin, command="VERSION")
        if outcome.returncode != 0:
            failure = failure_of(outcome, plugin=plugin, command="VERSION", path=path)
            if failure.msg == "unknown CNI_COMMAND: VERSION":
                versions: tuple[str, ...] = ("0.1.0",)
            else:
                raise error_for(failure)
        else:
            versions = self._decode(outcome, plugin=plugin, path=path)
        self._known[key] = versions
        return versions

    @staticmethod
    def _decode(outcome: Outcome, *, plugin: str, path: str) -> tuple[str, ...]:
        def bad(why: str) -> CNMError:
            return error_for(
                Failure(
                    plugin, "VERSION", None, f"answered VERSION badly: {why}", stderr=trimmed(outcome.stderr), path=path
                )
            )

        try:
            info = json.loads(outcome.stdout)
        except ValueError:
            raise bad(f"not JSON: {trimmed(outcome.stdout)!r}") from None
        if not isinstance(info, dict):
            raise bad(f"{info!r} is not an object")
        if not isinstance(info.get("cniVersion"), str) or not info["cniVersion"]:
            raise bad("missing field cniVersion")
        listed = info.get("supportedVersions")
        if not listed:
            if info["cniVersion"] == "0.2.0":
                return ("0.1.0", "0.2.0")
            raise bad("missing field supportedVersions")
        if not isinstance(listed, list) or not all(isinstance(v, str) for v in listed):
            raise bad(f"supportedVersions is {listed!r}, not a list of versions")
        return tuple(listed)


__all__ = [
    "DEFAULT_DIRS",
    "Invocation",
    "Outcome",
    "PluginMissing",
    "VersionProbe",
    "call",
    "failure_of",
    "find",
    "run",
    "search_path",
]
