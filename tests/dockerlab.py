"""A dockerd of the test's own, in the lab's stand-in host, stopped by its pid.

Own ``--data-root``, ``--exec-root``, socket and pidfile; no bridge, no iptables, no IP forwarding;
``--dns`` at an address inside the lab, so no name lookup leaves the machine. Images come from
``docker import`` of a rootfs holding Debian's static busybox: no registry is used.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import time

BUSYBOX = "/bin/busybox"
APPLETS = ("sh", "ping", "ip", "sleep", "cat", "ifconfig", "route", "hostname", "wget", "nc")


class DockerD:
    def __init__(self, root: str, dns: str) -> None:
        self.root = root
        self.socket = os.path.join(root, "docker.sock")
        self.dns = dns
        self.proc: subprocess.Popen | None = None
        os.makedirs(root, exist_ok=True)
        self.log = open(os.path.join(root, "dockerd.log"), "ab")  # noqa: SIM115 - dockerd's, closed in stop()

    def start(self) -> None:
        argv = [
            "dockerd",
            "--data-root",
            os.path.join(self.root, "data"),
            "--exec-root",
            os.path.join(self.root, "exec"),
            "-H",
            f"unix://{self.socket}",
            "--pidfile",
            os.path.join(self.root, "dockerd.pid"),
            "--bridge",
            "none",
            "--ip-forward=false",
            "--iptables=false",
            "--ip6tables=false",
            "--ip-masq=false",
            "--userland-proxy=false",
            "--dns",
            self.dns,
            "--storage-driver",
            "vfs",
            "--shutdown-timeout",
            "1",
            "--log-level",
            "warn",
        ]
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.flush()
                with open(self.log.name, errors="replace") as fh:
                    tail = fh.read()[-1500:]
                raise RuntimeError(f"dockerd exited ({self.proc.returncode}): {tail}")
            if os.path.exists(self.socket) and self.docker("version", check=False).returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"dockerd did not start in 60 s; see {self.log.name}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def docker(self, *argv: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        out = subprocess.run(
            ["docker", "-H", f"unix://{self.socket}", *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and out.returncode != 0:
            raise AssertionError(f"docker {' '.join(argv)} failed ({out.returncode}): {out.stderr.strip()}")
        return out

    def import_busybox(self, tag: str) -> None:
        """An image holding only the static busybox and its applets."""
        data = io.BytesIO()
        with tarfile.open(fileobj=data, mode="w") as tar:
            for d in ("bin", "etc", "tmp", "proc", "sys", "dev"):
                info = tarfile.TarInfo(d)
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            tar.add(BUSYBOX, arcname="bin/busybox")
            for applet in APPLETS:
                info = tarfile.TarInfo(f"bin/{applet}")
                info.type, info.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(info)
        out = subprocess.run(
            ["docker", "-H", f"unix://{self.socket}", "import", "-", tag],
            input=data.getvalue(),
            capture_output=True,
            timeout=120,
            check=False,
        )
        if out.returncode != 0:
            raise AssertionError(f"docker import failed: {out.stderr.decode()}")

    def inspect(self, *names: str) -> list[dict]:
        return json.loads(self.docker("inspect", *names).stdout)

    def cleanup(self) -> None:
        """Remove every container and network, then stop; the data root goes with the test."""
        if self.proc is not None and self.proc.poll() is None:
            ids = self.docker("ps", "-aq", check=False).stdout.split()
            if ids:
                self.docker("rm", "-f", *ids, check=False)
            for net in self.docker("network", "ls", "-q", "--filter", "type=custom", check=False).stdout.split():
                self.docker("network", "rm", net, check=False)
        self.stop()
        self.log.close()
        for part in ("exec", "data"):  # dockerd mounts below both
            subprocess.run(["umount", "-R", "-l", os.path.join(self.root, part)], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def available() -> str | None:
    """Why dockerd cannot run here, or None when it can."""
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        return "dockerd is not installed (Debian package docker.io)"
    if not os.access(BUSYBOX, os.X_OK):
        return f"{BUSYBOX} is missing (Debian package busybox-static)"
    return None
