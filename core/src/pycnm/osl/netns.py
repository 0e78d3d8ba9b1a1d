"""Network namespaces bind-mounted at a path, as ``ip netns add`` makes them.

All work happens in the calling thread: ``unshare``/``setns`` change only the thread that calls
them, and the thread always returns to the namespace it came from.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
from collections.abc import Iterator

from .. import steps
from ..errors import Forbidden, Internal, NotFound

CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MS_REC = 16384
MS_SHARED = 1 << 20
MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)

#: the host's namespace as seen by this process (``Sandbox.key`` of host-mode sandboxes)
HOST_KEY = "/proc/1/ns/net"


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def setns(fd: int) -> None:
    _check(_libc.setns(fd, CLONE_NEWNET), "setns")


@contextlib.contextmanager
def entered(path: str) -> Iterator[None]:
    """Run the body with this thread in the namespace at ``path``."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise NotFound(f"network namespace {path} does not exist") from None
        try:
            setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            setns(own)
    finally:
        os.close(own)


def _make_shared(directory: str) -> None:
    """Make ``directory`` a shared mount point, as iproute2 does, so mounts below it propagate."""
    flags = MS_SHARED | MS_REC
    if _libc.mount(b"none", directory.encode(), None, flags, None) == 0:
        return
    if ctypes.get_errno() != errno.EINVAL:
        return  # not fatal: the bind mount below still works in this mount namespace
    _check(_libc.mount(directory.encode(), directory.encode(), b"none", MS_BIND | MS_REC, None), "bind " + directory)
    _libc.mount(b"none", directory.encode(), None, flags, None)


def create(path: str) -> None:
    """Create a new network namespace and bind-mount it at ``path`` (which must not exist)."""
    steps.step("netns", f"create {path}")
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    _make_shared(directory)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
    except FileExistsError:
        raise Forbidden(f"network namespace {path} already exists") from None
    os.close(fd)
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            _check(_libc.unshare(CLONE_NEWNET), "unshare")
        except OSError as exc:
            os.unlink(path)
            raise Internal(f"cannot create network namespace {path}: {exc} (pycnm needs root)") from exc
        try:
            _check(_libc.mount(b"/proc/thread-self/ns/net", path.encode(), b"none", MS_BIND, None), "mount")
        except OSError as exc:
            setns(own)
            os.unlink(path)
            raise Internal(f"cannot bind-mount network namespace at {path}: {exc}") from exc
        setns(own)
    finally:
        os.close(own)


def pin(source: str, path: str) -> None:
    """Bind-mount the namespace at ``source`` (any path naming one, such as another mount
    namespace's ``/proc/PID/root/run/netns/NAME``) at ``path`` too: it then lives as long as
    either names it. The kernel allows this across mount namespaces for namespace files only."""
    steps.step("netns", f"pin {source} at {path}")
    fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
    try:
        directory = os.path.dirname(path)
        os.makedirs(directory, exist_ok=True)
        try:
            os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444))
        except FileExistsError:
            raise Forbidden(f"{path} already exists") from None
        try:
            _check(_libc.mount(f"/proc/self/fd/{fd}".encode(), path.encode(), b"none", MS_BIND, None), "mount")
        except OSError as exc:
            os.unlink(path)
            raise Internal(f"cannot pin network namespace {source} at {path}: {exc}") from exc
    finally:
        os.close(fd)


def delete(path: str) -> None:
    """Unmount and remove the namespace at ``path``; NotFound if there is none."""
    if not os.path.exists(path):
        raise NotFound(f"network namespace {path} does not exist", maskable=True)
    steps.step("netns", f"delete {path}")
    if _libc.umount2(path.encode(), MNT_DETACH) != 0:
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOENT):  # EINVAL: not mounted (a stale file)
            raise Internal(f"cannot unmount network namespace {path}: {os.strerror(err)}")
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def host_key() -> str:
    """A path naming the namespace this process runs in, for host-mode sandboxes.

    ``/proc/1/ns/net`` when that is ours; else the ``/run/netns`` name it is mounted under (pycnm
    run by ``ip netns exec``); else this process's own ``/proc/<pid>/ns/net``.
    """
    own = os.stat("/proc/self/ns/net")
    ident = (own.st_dev, own.st_ino)
    try:
        init = os.stat("/proc/1/ns/net")
        if (init.st_dev, init.st_ino) == ident:
            return HOST_KEY
    except OSError:
        pass
    if os.path.isdir("/run/netns"):
        for name in sorted(os.listdir("/run/netns")):
            try:
                st = os.stat(os.path.join("/run/netns", name))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) == ident:
                return os.path.join("/run/netns", name)
    return f"/proc/{os.getpid()}/ns/net"


def identity(path: str) -> str | None:
    """``"<device>:<inode>"`` of the namespace at ``path`` (nsfs gives each namespace its own
    inode, for its whole life), or None when ``path`` is no namespace."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if st.st_dev == os.stat(os.path.dirname(path)).st_dev:
            return None  # a stale mount point
        return f"{st.st_dev}:{st.st_ino}"
    finally:
        os.close(fd)


def is_namespace(path: str) -> bool:
    """Whether ``path`` is a mounted network namespace (not a stale, empty file)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        # a namespace file has its own device (nsfs); a stale mount point is a plain file
        return os.fstat(fd).st_dev != os.stat(os.path.dirname(path)).st_dev
    finally:
        os.close(fd)
