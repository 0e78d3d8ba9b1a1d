"""Many UDP datagrams per system call: recvmmsg(2) and sendmmsg(2) through ctypes.

On this project's 2-CPU machines a loopback query costs the resolver about 6 µs of kernel time
with recvfrom/sendto, most of it the two system calls; batching up to :data:`SLOTS` datagrams per
call took a bare echo loop from about 100,000 to 120,000 queries per second (bench/dns_engine.py).
Replies go back to the address each query came from without that address ever becoming a Python
object: the send vector points at the receive vector's address buffers.

One :class:`Batch` per address family serves every client socket in turn (the resolver thread
finishes a socket's batch before reading the next), so memory does not grow with clients. The
buffers are fixed, owned by the :class:`Batch`, and only written through bounds-checked
memoryviews. Where libc or the structure layout is not what this module expects,
:func:`available` says so and the resolver falls back to recvfrom/sendto.
"""

from __future__ import annotations

import ctypes
import errno
import socket

#: datagrams per system call
SLOTS = 64
#: bytes per datagram slot: a query longer than this is cut and then refused as malformed
SLOT_SIZE = 4096
_NAME_SIZE = 32  # room for a sockaddr_in6 (28 bytes)
_MSG_DONTWAIT = 0x40
_MSG_TRUNC = 0x20


class _IOVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _MsgHdr(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_void_p),
        ("namelen", ctypes.c_uint32),
        ("iov", ctypes.POINTER(_IOVec)),
        ("iovlen", ctypes.c_size_t),
        ("control", ctypes.c_void_p),
        ("controllen", ctypes.c_size_t),
        ("flags", ctypes.c_int),
    ]


class _MMsgHdr(ctypes.Structure):
    _fields_ = [("hdr", _MsgHdr), ("len", ctypes.c_uint)]


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.recvmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_void_p]
        libc.recvmmsg.restype = ctypes.c_int
        libc.sendmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
        libc.sendmmsg.restype = ctypes.c_int
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _libc()


def available() -> bool:
    """Whether batched I/O works here (Linux libc with recvmmsg/sendmmsg, 64-bit layout)."""
    return (
        _LIBC is not None
        and ctypes.sizeof(ctypes.c_void_p) == 8
        and ctypes.sizeof(_MMsgHdr) % 8 == 0
        and _MMsgHdr.len.offset % 4 == 0
        and _MsgHdr.flags.offset % 4 == 0
    )


def _usable_libc() -> ctypes.CDLL:
    """libc where batched I/O works (:func:`available`); OSError ENOSYS elsewhere."""
    if _LIBC is None or not available():
        raise OSError(errno.ENOSYS, "recvmmsg/sendmmsg are not usable here")
    return _LIBC


class Batch:
    """Receive and send vectors for one address family (see the module doc).

    After :meth:`recv` returns ``n``, datagram ``i`` is ``view[i * SLOT_SIZE:][:length(i)]``; a
    reply put in send slot ``j`` with :meth:`put` goes to where datagram ``i`` came from.
    """

    def __init__(self, family: int) -> None:
        self._libc = _usable_libc()
        self.family = family
        self._namelen = 16 if family == socket.AF_INET else 28
        self._rbuf = (ctypes.c_char * (SLOTS * SLOT_SIZE))()
        self._obuf = (ctypes.c_char * (SLOTS * SLOT_SIZE))()
        self._names = (ctypes.c_char * (SLOTS * _NAME_SIZE))()
        self._riov = (_IOVec * SLOTS)()
        self._oiov = (_IOVec * SLOTS)()
        self._rmsg = (_MMsgHdr * SLOTS)()
        self._omsg = (_MMsgHdr * SLOTS)()
        rbase, obase = ctypes.addressof(self._rbuf), ctypes.addressof(self._obuf)
        self._names_base = ctypes.addressof(self._names)
        for i in range(SLOTS):
            self._riov[i].base, self._riov[i].len = rbase + i * SLOT_SIZE, SLOT_SIZE
            self._oiov[i].base = obase + i * SLOT_SIZE
            for msgs, iov in ((self._rmsg, self._riov), (self._omsg, self._oiov)):
                hdr = msgs[i].hdr
                hdr.name = self._names_base + i * _NAME_SIZE
                hdr.namelen = self._namelen
                hdr.iov = ctypes.pointer(iov[i])
                hdr.iovlen = 1
        self._rmsg_addr = ctypes.addressof(self._rmsg)
        self._omsg_addr = ctypes.addressof(self._omsg)
        stride = ctypes.sizeof(_MMsgHdr)
        #: the received datagrams
        self.view = memoryview(self._rbuf).cast("B")
        #: the replies to send
        self.out = memoryview(self._obuf).cast("B")
        words = memoryview(self._rmsg).cast("B").cast("I")
        #: iterate ``lengths[0:n * len_stride:len_stride]`` for the datagram lengths
        self.lengths = words[_MMsgHdr.len.offset // 4 :]
        self._flags = words[_MsgHdr.flags.offset // 4 :]
        self.len_stride = stride // 4
        self._out_lens = memoryview(self._oiov).cast("B").cast("Q")
        self._out_names = memoryview(self._omsg).cast("B").cast("Q")
        self._out_stride = stride // 8
        self._names_view = memoryview(self._names).cast("B")
        self._moved: list[int] = []

    def recv(self, fd: int) -> int:
        """Read up to :data:`SLOTS` datagrams from ``fd``: their number, 0 when there is none,
        or minus the errno of a failure (``-errno.ECONNREFUSED``: an ICMP error was pending)."""
        while True:
            n = self._libc.recvmmsg(fd, self._rmsg_addr, SLOTS, _MSG_DONTWAIT, None)
            if n >= 0:
                # the kernel writes each address length back: for one family it is the size given
                return n
            code = ctypes.get_errno()
            if code != errno.EINTR:
                return 0 if code in (errno.EAGAIN, errno.EWOULDBLOCK) else -code

    def truncated(self, i: int) -> bool:
        """Whether datagram ``i`` was longer than its slot."""
        return bool(self._flags[i * self.len_stride] & _MSG_TRUNC)

    def address(self, i: int) -> tuple:
        """Where datagram ``i`` came from, as the socket module writes addresses."""
        raw = self._names_view[i * _NAME_SIZE : (i + 1) * _NAME_SIZE].tobytes()
        port = int.from_bytes(raw[2:4], "big")
        if self.family == socket.AF_INET:
            return socket.inet_ntop(socket.AF_INET, raw[4:8]), port
        return (
            socket.inet_ntop(socket.AF_INET6, raw[8:24]),
            port,
            int.from_bytes(raw[4:8], "big"),
            int.from_bytes(raw[24:28], "little"),
        )

    def raw_address(self, i: int) -> bytes:
        """Where datagram ``i`` came from, as the kernel wrote it (for :class:`Sender`)."""
        return self._names_view[i * _NAME_SIZE : i * _NAME_SIZE + self._namelen].tobytes()

    def put(self, j: int, i: int, reply: bytes) -> None:
        """Make ``reply`` the ``j``-th datagram to send, to the sender of received datagram ``i``."""
        self.out[j * SLOT_SIZE : j * SLOT_SIZE + len(reply)] = reply
        self._out_lens[j * 2 + 1] = len(reply)
        if j != i:
            self._out_names[j * self._out_stride] = self._names_base + i * _NAME_SIZE
            self._moved.append(j)

    def send(self, fd: int, count: int) -> int:
        """Send the first ``count`` replies put; returns how many the kernel took."""
        done = sent = tries = 0
        while done < count and tries < 3:
            n = self._libc.sendmmsg(fd, self._omsg_addr + done * ctypes.sizeof(_MMsgHdr), count - done, _MSG_DONTWAIT)
            if n > 0:
                done += n
                sent += n
            else:
                tries += 1
                if n < 0 and ctypes.get_errno() not in (errno.EINTR, errno.EAGAIN, errno.ENOBUFS):
                    # one bad destination would fail the rest: skip it
                    done += 1
        if self._moved:
            for j in self._moved:
                self._out_names[j * self._out_stride] = self._names_base + j * _NAME_SIZE
            self._moved.clear()
        return sent


class Sender:
    """A send vector for datagrams that do not answer the current receive batch.

    :meth:`send` writes a list of datagrams to one socket in as few system calls as it can:
    to the socket's connected peer (``named=False``), or each to its own raw socket address as
    :meth:`Batch.raw_address` gives them (``named=True``).
    """

    def __init__(self, named: bool) -> None:
        self._libc = _usable_libc()
        self._obuf = (ctypes.c_char * (SLOTS * SLOT_SIZE))()
        self._names = (ctypes.c_char * (SLOTS * _NAME_SIZE))()
        self._oiov = (_IOVec * SLOTS)()
        self._omsg = (_MMsgHdr * SLOTS)()
        obase = ctypes.addressof(self._obuf)
        names_base = ctypes.addressof(self._names)
        for i in range(SLOTS):
            self._oiov[i].base = obase + i * SLOT_SIZE
            hdr = self._omsg[i].hdr
            hdr.name = names_base + i * _NAME_SIZE if named else None
            hdr.iov = ctypes.pointer(self._oiov[i])
            hdr.iovlen = 1
        self._omsg_addr = ctypes.addressof(self._omsg)
        self._stride = ctypes.sizeof(_MMsgHdr)
        self._out = memoryview(self._obuf).cast("B")
        self._lens = memoryview(self._oiov).cast("B").cast("Q")
        self._names_view = memoryview(self._names).cast("B")
        self._namelens = memoryview(self._omsg).cast("B").cast("I")[_MsgHdr.namelen.offset // 4 :]
        self.named = named

    def send(self, fd: int, messages: list[bytes], names: list[bytes] | None = None) -> tuple[int, int]:
        """Send ``messages`` (to ``names``, if named) on ``fd``; returns ``(sent, first errno or 0)``."""
        out, lens, stride4 = self._out, self._lens, self._stride // 4
        named = self.named
        to = names if names is not None else []
        total = sent = 0
        error = 0
        while total < len(messages):
            chunk = messages[total : total + SLOTS]
            for j, whole in enumerate(chunk):
                # longer than a slot cannot happen for UDP answers; never overrun a slot
                message = whole if len(whole) <= SLOT_SIZE else whole[:12]
                out[j * SLOT_SIZE : j * SLOT_SIZE + len(message)] = message
                lens[j * 2 + 1] = len(message)
                if named:
                    name = to[total + j]
                    self._names_view[j * _NAME_SIZE : j * _NAME_SIZE + len(name)] = name
                    self._namelens[j * stride4] = len(name)
            done = tries = 0
            while done < len(chunk) and tries < 3:
                n = self._libc.sendmmsg(fd, self._omsg_addr + done * self._stride, len(chunk) - done, _MSG_DONTWAIT)
                if n > 0:
                    done += n
                    sent += n
                    continue
                tries += 1
                code = ctypes.get_errno() if n < 0 else 0
                error = error or code
                if code in (errno.EINTR, errno.EAGAIN, errno.ENOBUFS, errno.ECONNREFUSED):
                    # ECONNREFUSED: an earlier datagram's ICMP error, consumed now; try again
                    continue
                done += 1  # this datagram cannot go: skip it, keep the others
            total += len(chunk)
        return sent, error
