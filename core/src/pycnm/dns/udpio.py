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
from typing import Any

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


class _SegmentCMsg(ctypes.Structure):
    """A ``cmsghdr`` carrying ``UDP_SEGMENT`` (CMSG_SPACE(2) bytes)."""

    _fields_ = [
        ("len", ctypes.c_size_t),
        ("level", ctypes.c_int),
        ("type", ctypes.c_int),
        ("segment", ctypes.c_uint16),
        ("pad", ctypes.c_char * 6),
    ]


_SOL_UDP = 17
_UDP_SEGMENT = 103  # linux/udp.h, since Linux 4.18
#: datagrams per segmented send (the kernel's UDP_MAX_SEGMENTS is 64 or more)
GSO_MAX_SEGMENTS = 64
#: only datagrams up to this size are segmented: under any path's MTU (IPv4 needs 576, IPv6 1280)
GSO_MAX_SIZE = 512
#: errors that mean the kernel or the route cannot segment UDP here
_GSO_REFUSED = (errno.EIO, errno.EINVAL, errno.ENOPROTOOPT, errno.EOPNOTSUPP)


class Sender:
    """A send vector for datagrams that do not answer the current receive batch.

    :meth:`send` writes a list of datagrams to one socket in as few system calls as it can:
    to the socket's connected peer (``named=False``), or each to its own raw socket address as
    :meth:`Batch.raw_address` gives them (``named=True``).

    With ``gso``, datagrams of one length (to one address) go out as one segmented send
    (``UDP_SEGMENT``, generic segmentation offload): the kernel carries them through its IP
    output, netfilter, the veth and the bridge as one packet and cuts it into datagrams only where
    it must (at the receiving socket, or a device that cannot carry it whole). The datagrams are
    those of separate sends (in another order across lengths and addresses); only datagrams of at
    most :data:`GSO_MAX_SIZE` bytes, up to :data:`GSO_MAX_SEGMENTS` a send, are grouped. A
    forwarder's queries to one upstream mostly share a few lengths, so this takes most of the
    per-datagram kernel work out of forwarding.
    """

    def __init__(self, named: bool) -> None:
        self._libc = _usable_libc()
        self._capacity = SLOTS * SLOT_SIZE
        self._obuf = (ctypes.c_char * self._capacity)()
        self._names = (ctypes.c_char * (SLOTS * _NAME_SIZE))()
        self._oiov = (_IOVec * SLOTS)()
        self._omsg = (_MMsgHdr * SLOTS)()
        self._cmsg = (_SegmentCMsg * SLOTS)()
        obase = ctypes.addressof(self._obuf)
        names_base = ctypes.addressof(self._names)
        for i in range(SLOTS):
            self._oiov[i].base = obase + i * SLOT_SIZE
            hdr = self._omsg[i].hdr
            hdr.name = names_base + i * _NAME_SIZE if named else None
            hdr.iov = ctypes.pointer(self._oiov[i])
            hdr.iovlen = 1
            cmsg = self._cmsg[i]
            cmsg.len, cmsg.level, cmsg.type = _SegmentCMsg.segment.offset + 2, _SOL_UDP, _UDP_SEGMENT
        self._omsg_addr = ctypes.addressof(self._omsg)
        self._stride = ctypes.sizeof(_MMsgHdr)
        self._obase = obase
        self._out = memoryview(self._obuf).cast("B")
        self._lens = memoryview(self._oiov).cast("B").cast("Q")
        self._names_view = memoryview(self._names).cast("B")
        self._namelens = memoryview(self._omsg).cast("B").cast("I")[_MsgHdr.namelen.offset // 4 :]
        # per message header: its control pointer and length (8-byte words), its segment size
        words = memoryview(self._omsg).cast("B").cast("Q")
        self._controls = words[_MsgHdr.control.offset // 8 :]
        self._controllens = words[_MsgHdr.controllen.offset // 8 :]
        self._segments = memoryview(self._cmsg).cast("B").cast("H")[_SegmentCMsg.segment.offset // 2 :]
        self._cmsg_base = ctypes.addressof(self._cmsg)
        self._cmsg_stride = ctypes.sizeof(_SegmentCMsg)
        self.named = named
        #: segmented sends made, and the datagrams they carried (for tests and benchmarks)
        self.gso_sends = 0
        self.gso_datagrams = 0

    def send(
        self, fd: int, messages: list[bytes], names: list[bytes] | None = None, gso: bool = False
    ) -> tuple[int, int, bool]:
        """Send ``messages`` (to ``names``, if named) on ``fd``.

        Returns ``(sent, first errno or 0, gso still usable)``: with ``gso``, a kernel or route
        that cannot segment makes the rest go one by one, and the third value False.
        """
        if gso and len(messages) > 1:
            return self._send_segmented(fd, messages, names)
        sent, error = self._send_plain(fd, messages, names)
        return sent, error, gso

    def _send_plain(self, fd: int, messages: list[bytes], names: list[bytes] | None) -> tuple[int, int]:
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

    def _send_segmented(self, fd: int, messages: list[bytes], names: list[bytes] | None) -> tuple[int, int, bool]:
        # group by length (and address): each group's datagrams back to back, one header each
        groups: dict[Any, list[bytes]] = {}
        keys: Any = (
            zip(map(len, messages), names, strict=True) if self.named and names is not None else map(len, messages)
        )
        for key, message in zip(keys, messages, strict=True):
            group = groups.get(key)
            if group is None:
                groups[key] = [message]
            else:
                group.append(message)
        runs: list[tuple[Any, list[bytes]]] = []
        for key, group in groups.items():
            size = key if key.__class__ is int else key[0]
            if size > GSO_MAX_SIZE or size == 0 or len(group) == 1:
                runs.extend((key, [message]) for message in group)
                continue
            for start in range(0, len(group), GSO_MAX_SEGMENTS):
                runs.append((key, group[start : start + GSO_MAX_SEGMENTS]))
        out, lens, controls, controllens, segments = (
            self._out,
            self._lens,
            self._controls,
            self._controllens,
            self._segments,
        )
        word, cstride = self._stride // 8, self._cmsg_stride
        named = self.named
        sent = error = 0
        r = 0
        try:
            while r < len(runs):
                # fill up to SLOTS headers while the data fits the buffer
                offset = count = 0
                carried: list[int] = []
                while r < len(runs) and count < SLOTS:
                    key, run = runs[r]
                    data = b"".join(run) if len(run) > 1 else run[0]
                    if len(data) > SLOT_SIZE and len(run) == 1:
                        data = data[:12]  # (as _send_plain: never more than a slot for one datagram)
                    if offset + len(data) > self._capacity:
                        break
                    out[offset : offset + len(data)] = data
                    lens[count * 2] = self._obase + offset
                    lens[count * 2 + 1] = len(data)
                    if len(run) > 1:
                        segments[count * cstride // 2] = len(run[0])
                        controls[count * word] = self._cmsg_base + count * cstride
                        controllens[count * word] = cstride
                    else:
                        controls[count * word] = 0
                        controllens[count * word] = 0
                    if named:
                        name = key[1]
                        self._names_view[count * _NAME_SIZE : count * _NAME_SIZE + len(name)] = name
                        self._namelens[count * (self._stride // 4)] = len(name)
                    carried.append(len(run))
                    offset += len(data)
                    count += 1
                    r += 1
                done = tries = 0
                refused = False
                while done < count and tries < 3:
                    n = self._libc.sendmmsg(fd, self._omsg_addr + done * self._stride, count - done, _MSG_DONTWAIT)
                    if n > 0:
                        for k in range(done, done + n):
                            sent += carried[k]
                            if carried[k] > 1:
                                self.gso_sends += 1
                                self.gso_datagrams += carried[k]
                        done += n
                        continue
                    code = ctypes.get_errno() if n < 0 else 0
                    if carried[done] > 1 and code in _GSO_REFUSED:
                        refused = True
                        break
                    tries += 1
                    error = error or code
                    if code in (errno.EINTR, errno.EAGAIN, errno.ENOBUFS, errno.ECONNREFUSED):
                        continue
                    done += 1  # this header cannot go: skip it, keep the others
                self._reset_headers(count)
                if refused:
                    # this kernel or route cannot segment: the rest one by one, and never again here
                    rest = [message for _, run in runs[r - count + done :] for message in run]
                    rest_names = None
                    if named:
                        rest_names = [key[1] for key, run in runs[r - count + done :] for _ in run]
                    more, code = self._send_plain(fd, rest, rest_names)
                    return sent + more, error or code, False
        except BaseException:
            self._reset_headers(SLOTS)  # never left segmenting for the next plain send
            raise
        return sent, error, True

    def _reset_headers(self, count: int) -> None:
        """Back to one slot per header and no control data (what :meth:`_send_plain` expects)."""
        lens, controls, controllens, word = self._lens, self._controls, self._controllens, self._stride // 8
        for j in range(count):
            lens[j * 2] = self._obase + j * SLOT_SIZE
            controls[j * word] = 0
            controllens[j * word] = 0
