"""Real CNI clients for tests: podman 4.3 (CNI backend) and containerd 1.6's ``ctr run --cni``.

Each client runs privately and offline:

* all of its state is under the test's own directory (``--root``, ``--runroot``, ``--tmpdir``, a
  ``containers.conf`` named by ``CONTAINERS_CONF``; containerd's ``--config`` with its own root,
  state and socket, the CRI plugin disabled);
* it runs inside a private mount namespace held open by a ``sleep`` process of ours. There the
  paths these clients hard-code get a tmpfs or a bind mount of the test's own directories, so
  nothing they write there is seen outside: ``/var/lib/cni`` (libcni's result cache, both
  clients), ``/run/netns`` (podman's ``netns-*`` namespaces), ``/run/runc`` (podman's runc
  root), ``/run/containerd`` (shim sockets, runc root, fifos) and, for ctr, which only reads
  ``/etc/cni/net.d`` and ``/opt/cni/bin``, the test's conf and plugin directories;
* it runs in the network namespace ``netns`` (a path; default: the calling thread's), which is
  where the plugins make their bridges and where portmap writes its iptables rules;
* images never come from a registry: ``busybox_rootfs`` makes a root filesystem of Debian's
  static busybox, used with ``podman run --rootfs DIR`` and ``ctr run --rootfs DIR``.

On exit everything started is ended by pid (containers first, with the client's own commands),
the mount namespace goes with its holder, cgroups named ``name`` are removed, and so are the
mount points that had to be made on the host (only when empty) and the private directory.

What each client sends the plugins, and why each setting is here: /work/research/cni-clients.md.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

BUSYBOX = "/bin/busybox"
APPLETS = (
    "sh", "ping", "nc", "ip", "wget", "httpd", "sleep", "cat", "echo", "ls", "true", "false",
    "ifconfig", "route", "hostname", "env", "ps", "kill", "mkdir", "grep", "sed", "awk", "seq",
)  # fmt: skip


def busybox_rootfs(path) -> Path:
    """A root filesystem of the static busybox and its applets at ``path`` (use one per client:
    podman and runc write /etc/hosts, /etc/resolv.conf, ... into it)."""
    if not os.access(BUSYBOX, os.X_OK):
        pytest.skip(f"{BUSYBOX} is missing (Debian package busybox-static)")
    root = Path(path)
    for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "run", "root", "var/www"):
        (root / d).mkdir(parents=True, exist_ok=True)
    if not (root / "bin/busybox").exists():  # again while in use: "text file busy"
        shutil.copy2(BUSYBOX, root / "bin/busybox")
    for applet in APPLETS:
        link = root / "bin" / applet
        if not link.is_symlink():
            link.symlink_to("busybox")
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\n")
    return root


def recording_plugin(plugin_dir, name: str, real: str, log) -> Path:
    """Write plugin ``name`` into ``plugin_dir``: it appends its CNI_* environment, stdin, stdout and
    exit code to ``log``, then behaves as the plugin executable ``real``."""
    script = Path(plugin_dir) / name
    script.write_text(
        "#!/bin/sh\n"
        'in=$(cat); out=$(printf "%s" "$in" | ' + f"'{real}'" + "); rc=$?\n"
        '{ echo "=== $CNI_COMMAND"; env | grep "^CNI_" | sort; echo "--- stdin"; printf "%s\\n" "$in";\n'
        '  echo "--- stdout rc=$rc"; printf "%s\\n" "$out"; } >> ' + f"'{log}'\n"
        'printf "%s" "$out"; exit $rc\n'
    )
    script.chmod(0o755)
    return script


def _need(*tools: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (namespaces, mounts, cgroups)")
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTAINERS_", "CONTAINERD_", "CNI_"))}
    env.update(extra)
    return env


def _cgroup_dirs(name: str) -> list[Path]:
    """Our cgroup ``/name`` in every hierarchy: /sys/fs/cgroup/name (v2), /sys/fs/cgroup/*/name (v1)."""
    base = Path("/sys/fs/cgroup")
    return [p for p in [base / name, *base.glob(f"*/{name}")] if p.is_dir()]


def _remove_cgroups(name: str) -> None:
    """Kill what is left in the cgroups named ``name`` and remove them, deepest first."""
    for top in _cgroup_dirs(name):
        for procs in top.rglob("cgroup.procs"):
            for pid in procs.read_text().split():
                _kill(int(pid))
    for top in _cgroup_dirs(name):
        for d in [*sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)), top]:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # busy for a moment after its last process died
                    time.sleep(0.1)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class MountNamespace:
    """A ``sleep`` holding a private mount namespace (propagation private) in network namespace
    ``netns``; ``argv(...)`` runs a command inside both. ``tmpfs`` paths get an empty tmpfs, ``binds``
    maps host directory -> path. Missing mount points are made and removed again at the end."""

    def __init__(self, netns: str | None = None, tmpfs=(), binds: dict | None = None) -> None:
        self.netns = netns
        self.tmpfs = list(tmpfs)
        self.binds = dict(binds or {})
        self.proc: subprocess.Popen | None = None
        self._made: list[Path] = []

    def __enter__(self) -> MountNamespace:
        argv = ["unshare", "--mount", "--propagation", "private", "sleep", "infinity"]
        if self.netns:
            argv = ["nsenter", f"--net={self.netns}", *argv]
        own = os.readlink("/proc/self/ns/mnt")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while True:  # nsenter and unshare exec in place: the pid becomes sleep once all is set
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{argv} exited with {self.proc.returncode}")
                try:
                    with open(f"/proc/{self.proc.pid}/comm") as fh:
                        ready = fh.read().strip() == "sleep"
                    self.mnt = os.readlink(f"/proc/{self.proc.pid}/ns/mnt")
                except OSError:
                    ready = False
                if ready and self.mnt != own:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("the mount namespace holder did not start")
                time.sleep(0.01)
            for target in self.tmpfs:
                self._mountpoint(target)
                self.check("mount", "-t", "tmpfs", "-o", "mode=755", "cnitest", target)
            for source, target in self.binds.items():
                self._mountpoint(target)
                self.check("mount", "--bind", str(source), target)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _mountpoint(self, target: str) -> None:
        missing = []
        p = Path(target)
        while not p.exists():
            missing.append(p)
            p = p.parent
        for d in reversed(missing):
            d.mkdir()
            self._made.append(d)

    def argv(self, *cmd) -> list[str]:
        return ["nsenter", "-t", str(self.proc.pid), "-m", "-n", "--", *map(str, cmd)]

    def check(self, *cmd) -> None:
        subprocess.run(self.argv(*cmd), check=True, capture_output=True, timeout=30)

    def pids(self) -> list[int]:
        """Processes in this mount namespace other than the holder (conmon, containerd, shims...)."""
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != self.proc.pid:
                try:
                    if os.readlink(f"/proc/{entry}/ns/mnt") == self.mnt:
                        found.append(int(entry))
                except OSError:
                    pass
        return found

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            if hasattr(self, "mnt"):
                for _ in range(100):
                    left = self.pids()
                    if not left:
                        break
                    for pid in left:
                        _kill(pid)
                    time.sleep(0.05)
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        for d in reversed(self._made):  # ours, made empty; leave it if anything else wrote there
            try:
                d.rmdir()
            except OSError:
                pass
        self._made = []


def _run(argv, env, timeout, stdin, check) -> subprocess.CompletedProcess:
    out = subprocess.run(
        argv,
        env=env,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({out.returncode}): {out.stderr.strip()}")
    return out


class PodmanEnv:
    """A private podman (CNI backend) whose plugins are in ``plugin_dir`` and conflists in ``conf_dir``.

    ``run("run", "--rm", "--network", NET, "--rootfs", DIR, "/bin/sh", "-c", ...)``; ``run`` and
    ``create`` get ``--cgroup-parent=/<name>`` unless given one. Containers with no ``--network``
    get none (the in-memory default network is never used)."""

    #: paths given an empty tmpfs in the mount namespace (crun's root /run/crun too, if crun is there)
    tmpfs = ("/run/netns", "/var/lib/cni", "/run/runc")

    def __init__(self, tmp_path, plugin_dir, conf_dir, netns: str | None = None, name: str = "cnitest") -> None:
        self.dir = Path(tmp_path) / "podman"
        self.plugin_dir, self.conf_dir = Path(plugin_dir), Path(conf_dir)
        self.netns, self.name = netns, name
        self.ns: MountNamespace | None = None
        self.run_dir: Path | None = None

    def __enter__(self) -> PodmanEnv:
        _need("podman", "conmon", "nsenter", "unshare")
        if not (shutil.which("crun") or shutil.which("runc")):
            pytest.skip("neither crun nor runc is installed")
        d = self.dir
        (d / "root").mkdir(parents=True, exist_ok=True)
        # podman refuses a runroot longer than 50 characters (conmon's socket paths): a short one
        self.run_dir = Path(tempfile.mkdtemp(prefix="cnipm-", dir="/tmp"))
        for sub in ("runroot", "tmp"):
            (self.run_dir / sub).mkdir()
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        nproc = min(resource.getrlimit(resource.RLIMIT_NPROC)[1], 4096)
        (d / "containers.conf").write_text(f"""\
[containers]
netns = "none"
cgroups = "no-conmon"
dns_servers = ["none"]
# podman's own defaults (1048576) need CAP_SYS_RESOURCE to set
default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]

[network]
network_backend = "cni"
cni_plugin_dirs = ["{self.plugin_dir}"]
network_config_dir = "{self.conf_dir}"
default_network = "{self.name}-default"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{d}/events.log"
tmp_dir = "{self.run_dir}/tmp"
static_dir = "{d}/root/libpod"
volume_path = "{d}/root/volumes"
lock_type = "file"
""")
        (d / "storage.conf").write_text(
            f'[storage]\ndriver = "vfs"\ngraphroot = "{d}/root"\nrunroot = "{self.run_dir}/runroot"\n'
        )
        (d / "registries.conf").write_text("unqualified-search-registries = []\n")
        self.env = _clean_env(
            CONTAINERS_CONF=str(d / "containers.conf"),
            CONTAINERS_STORAGE_CONF=str(d / "storage.conf"),
            CONTAINERS_REGISTRIES_CONF=str(d / "registries.conf"),
            TMPDIR=str(self.run_dir / "tmp"),
        )
        tmpfs = (*self.tmpfs, "/run/crun") if shutil.which("crun") else self.tmpfs
        try:
            self.ns = MountNamespace(self.netns, tmpfs=tmpfs).__enter__()
        except BaseException:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            raise
        return self

    def argv(self, *args) -> list[str]:
        """The full command line (for Popen); use with ``env=self.env``."""
        args = [str(a) for a in args]
        if args and args[0] in ("run", "create") and not any(a.startswith("--cgroup-parent") for a in args):
            args.insert(1, f"--cgroup-parent=/{self.name}")
        return self.ns.argv(
            "podman",
            "--root", self.dir / "root", "--runroot", self.run_dir / "runroot", "--tmpdir", self.run_dir / "tmp",
            "--cgroup-manager=cgroupfs", "--events-backend=file", "--storage-driver=vfs",
            "--network-backend=cni", "--network-config-dir", self.conf_dir,
            *args,
        )  # fmt: skip

    def run(self, *args, timeout: float = 120, stdin: str | None = None, check: bool = False):
        return _run(self.argv(*args), self.env, timeout, stdin, check)

    def __exit__(self, *exc) -> None:
        if self.ns is None:
            return
        try:
            self.run("rm", "--all", "--force", "--time", "0", timeout=120)  # running ones get their DEL
        finally:
            self.ns.__exit__()
            self.ns = None
            _remove_cgroups(self.name)
            shutil.rmtree(self.dir, ignore_errors=True)
            shutil.rmtree(self.run_dir, ignore_errors=True)


class ContainerdEnv:
    """A private containerd (no CRI) and ``ctr(...)`` against it, in namespace ``name``.

    ctr reads CNI config only from /etc/cni/net.d (the first file) and plugins from /opt/cni/bin
    then /usr/lib/cni; here those are ``conf_dir`` and ``plugin_dir``. With ``--rootfs`` the
    process has no PATH: give ``/bin/sh`` or ``--env PATH=/bin``. Only an attached ``ctr run``
    sends DEL (when the task exits); ``run -d`` tasks never get one."""

    #: paths given an empty tmpfs in the mount namespace
    tmpfs = ("/var/lib/cni", "/run/containerd")

    def __init__(self, tmp_path, plugin_dir, conf_dir, netns: str | None = None, name: str = "cnitest") -> None:
        self.dir = Path(tmp_path) / "containerd"
        self.plugin_dir, self.conf_dir = Path(plugin_dir), Path(conf_dir)
        self.netns, self.name = netns, name
        self.ns: MountNamespace | None = None
        self.daemon: subprocess.Popen | None = None

    def __enter__(self) -> ContainerdEnv:
        _need("containerd", "ctr", "containerd-shim-runc-v2", "runc", "nsenter", "unshare")
        d = self.dir
        for sub in ("root", "state", "opt"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        self.socket = d / "containerd.sock"
        (d / "config.toml").write_text(f"""\
version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "{self.socket}"
[ttrpc]
  address = "{self.socket}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
""")
        self.env = _clean_env()
        binds = {self.conf_dir: "/etc/cni/net.d", self.plugin_dir: "/opt/cni/bin"}
        self.ns = MountNamespace(self.netns, tmpfs=self.tmpfs, binds=binds).__enter__()
        try:
            self._log = open(d / "containerd.log", "wb")  # closed in __exit__
            self.daemon = subprocess.Popen(
                self.ns.argv("containerd", "--config", d / "config.toml"),
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
            )
            deadline = time.monotonic() + 30
            while self.ctr("version", timeout=10).returncode != 0:
                if self.daemon.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"containerd did not start: {(d / 'containerd.log').read_text()[-1500:]}")
                time.sleep(0.1)
        except BaseException:
            self.__exit__()
            raise
        return self

    def argv(self, *args) -> list[str]:
        return self.ns.argv("ctr", "--address", self.socket, "--namespace", self.name, *args)

    def ctr(self, *args, timeout: float = 120, stdin: str | None = None, check: bool = False):
        return _run(self.argv(*args), self.env, timeout, stdin, check)

    def __exit__(self, *exc) -> None:
        if self.ns is None:
            return
        try:
            if self.daemon is not None and self.daemon.poll() is None:
                for task in self.ctr("task", "ls", "-q").stdout.split():
                    self.ctr("task", "kill", "-s", "SIGKILL", task)
                    self.ctr("task", "rm", "-f", task)
                containers = self.ctr("container", "ls", "-q").stdout.split()
                if containers:
                    self.ctr("container", "rm", *containers)
                self.daemon.terminate()
                try:
                    self.daemon.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.daemon.kill()
            if self.daemon is not None:
                self.daemon.wait()
        finally:
            self.daemon = None
            self.ns.__exit__()  # then the shims, still in the namespace
            self.ns = None
            _remove_cgroups(self.name)
            if getattr(self, "_log", None):
                self._log.close()
            shutil.rmtree(self.dir, ignore_errors=True)
