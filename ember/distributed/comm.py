"""The engine under ``ember.distributed``: communicators on NumPy arrays.

A :class:`Communicator` moves and reduces NumPy arrays between the ranks of a group. Two
kinds exist: :class:`MPICommunicator` (mpi4py's buffer API, the ``ember[dist]`` extra) and
:class:`LocalCommunicator` (a group of one process, which needs no MPI). ``ember.distributed``
builds PyTorch's API on Tensors over it; ``ember.pmap`` over ranks uses it directly
(``ember.distributed._world()`` returns the default group's communicator).

Every method works on C-contiguous NumPy arrays and writes results in place (``out=``
arrays are filled). Reductions take an op name: ``"sum"``, ``"avg"``, ``"product"``,
``"min"``, ``"max"``. Non-blocking methods (``iallreduce``, ``ibcast``, ``iallgather``,
``isend``, ``irecv``) return a :class:`Request` with ``wait()`` and ``test()``.
``allreduce_init`` makes a persistent all-reduce of one buffer (MPI-4's ``MPI_Allreduce_init``:
the buffer, op and algorithm are fixed once; each ``start()`` reduces the buffer's current
values in place), or returns None where the MPI library or the array cannot have one.
"""
from __future__ import annotations

import numpy as np

OPS = ("sum", "avg", "product", "min", "max")


class Request:
    """A pending operation: ``wait()`` blocks until it is done (and runs its finishing step,
    e.g. AVG's division or the copy back of a staged buffer), ``test()`` says whether it is."""

    __slots__ = ("_req", "_finish", "_done")

    def __init__(self, req=None, finish=None):
        self._req, self._finish, self._done = req, finish, req is None and finish is None

    def test(self) -> bool:
        if self._done:
            return True
        if self._req is not None and not self._req.Test():
            return False
        self._complete(waited=True)
        return True

    def wait(self):
        if not self._done:
            if self._req is not None:
                self._req.Wait()
            self._complete(waited=True)
        return True

    def _complete(self, waited):
        self._req = None
        fin, self._finish = self._finish, None
        self._done = True
        if fin is not None:
            fin()


class PersistentAllreduce:
    """An all-reduce of one buffer set up once (``MPICommunicator.allreduce_init``):
    ``start()`` launches it on the buffer's current values, ``wait()`` blocks until the
    result is in the buffer, ``test()`` says whether it is (and lets MPI progress);
    ``free()`` releases it (not while started). Every rank must start its persistent
    collectives in the same order, as with any collective."""

    __slots__ = ("start", "wait", "test", "_preq", "_mpi", "buf", "__weakref__")

    def __init__(self, preq, buf, mpi):
        self._preq, self.buf, self._mpi = preq, buf, mpi  # MPI's buffer stays alive with it
        # the request's own methods: no Python frame of ours between the caller and MPI
        self.start, self.wait, self.test = preq.Start, preq.Wait, preq.Test

    def free(self):
        preq, self._preq = self._preq, None
        if preq is not None:
            self.start = self.wait = self.test = None
            if not self._mpi.Is_finalized():
                preq.Free()


def _staged(arr):
    """A contiguous array MPI can read and write for ``arr`` and the step that copies the
    result back (None when ``arr`` is used directly)."""
    if arr.flags.c_contiguous:
        return arr, None
    buf = np.ascontiguousarray(arr)
    return buf, (lambda: np.copyto(arr, buf))


def _reducible(arr):
    """(array MPI can reduce, copy-back step): float16/bfloat16 reduce in float32, bool in
    uint8 (MPI has no reduction for them)."""
    k = arr.dtype
    if k.kind == "b":
        buf = arr.astype(np.uint8)
        return buf, (lambda: np.copyto(arr, buf.astype(bool)))
    if k.kind == "f" and k.itemsize < 4 or k.kind == "V" or k.name == "bfloat16":
        buf = arr.astype(np.float32)
        return buf, (lambda: np.copyto(arr, buf.astype(k)))
    return _staged(arr)


# dtypes MPI reduces as they are (the others go through _reducible's staging)
_MPI_REDUCIBLE = frozenset(np.dtype(t) for t in (
    np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
    np.uint32, np.uint64, np.complex64, np.complex128))


def _bytes(arr):
    """Contiguous arrays move as raw bytes (any dtype, bfloat16 included)."""
    return arr.reshape(-1).view(np.uint8)


def _chain(*fns):
    fns = [f for f in fns if f is not None]
    if not fns:
        return None
    if len(fns) == 1:
        return fns[0]

    def run():
        for f in fns:
            f()
    return run


class Communicator:
    """The interface both communicators implement (see the module docstring)."""

    rank = 0
    size = 1

    def __repr__(self):
        return f"<{type(self).__name__} rank {self.rank} of {self.size}>"


class LocalCommunicator(Communicator):
    """A group of one process: every collective is the identity (no MPI needed)."""

    rank, size = 0, 1

    def allreduce(self, arr, op="sum"):
        return arr

    def iallreduce(self, arr, op="sum"):
        return Request()

    def allreduce_init(self, arr, op="sum"):
        return None  # nothing to reduce in a group of one

    def reduce(self, arr, op="sum", root=0):
        return arr

    def bcast(self, arr, root=0):
        return arr

    def ibcast(self, arr, root=0):
        return Request()

    def allgather(self, arr, out):
        out.reshape((1,) + arr.shape)[0] = arr
        return out

    def iallgather(self, arr, out):
        self.allgather(arr, out)
        return Request()

    allgather_raw = allgather

    def gather(self, arr, out, root=0):
        return self.allgather(arr, out)

    def scatter(self, send, recv, root=0):
        recv[...] = send.reshape((1,) + recv.shape)[0]
        return recv

    def reduce_scatter(self, send, recv, op="sum"):
        recv[...] = send.reshape(recv.shape)
        return recv

    def _p2p(self, name, peer):
        raise RuntimeError(f"{name}: rank {peer} does not exist in a group of 1 process (a "
                           f"process cannot send to or receive from itself); launch several "
                           f"ranks with `ember run -n 2 script.py`")

    def send(self, arr, dest, tag=0):
        self._p2p("send", dest)

    def recv(self, arr, source, tag=0):
        self._p2p("recv", source)

    isend, irecv = send, recv

    def barrier(self):
        pass

    def bcast_object(self, obj, root=0):
        return obj

    def allgather_object(self, obj):
        return [obj]

    def gather_object(self, obj, root=0):
        return [obj]

    def scatter_object(self, objs, root=0):
        return objs[0]

    def split(self, ranks):
        return self if list(ranks) == [0] else None

    def abort(self, code=1):
        import os
        os._exit(code)


class MPICommunicator(Communicator):
    """Collectives over an mpi4py communicator (``MPI.COMM_WORLD`` or a split of it)."""

    def __init__(self, comm):
        from mpi4py import MPI
        self.MPI = MPI
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self._in_place = MPI.IN_PLACE
        self._ops = {"sum": MPI.SUM, "avg": MPI.SUM, "product": MPI.PROD, "min": MPI.MIN,
                     "max": MPI.MAX}

    # ---- reductions -----------------------------------------------------------------------
    def _avg(self, arr, op):
        if op != "avg":
            return None
        n = self.size
        if arr.dtype.kind in "iu":  # integer average truncates toward zero
            return lambda: np.copyto(arr, np.sign(arr) * (np.abs(arr) // n))
        if n & (n - 1) == 0:  # a power of two: multiplying by 1/n is exact (and 2x faster)
            inv = arr.dtype.type(1.0 / n)
            return lambda: np.multiply(arr, inv, out=arr)
        div = arr.dtype.type(n)
        return lambda: np.divide(arr, div, out=arr)

    def allreduce(self, arr, op="sum"):
        if arr.dtype in _MPI_REDUCIBLE and arr.flags.c_contiguous:  # in place, no staging
            self.comm.Allreduce(self._in_place, arr, op=self._ops[op])
            if op == "avg":  # SUM, then one in-place scale
                self._avg(arr, op)()
            return arr
        buf, back = _reducible(arr)
        self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self._ops[op])
        fin = _chain(back, self._avg(arr, op))
        if fin is not None:
            fin()
        return arr

    def iallreduce(self, arr, op="sum"):
        buf, back = _reducible(arr)
        req = self.comm.Iallreduce(self.MPI.IN_PLACE, buf, op=self._ops[op])
        return Request(req, _chain(back, self._avg(arr, op)))

    def allreduce_init(self, arr, op="sum"):
        """A :class:`PersistentAllreduce` of ``arr`` in place with ``op`` (``"sum"``,
        ``"product"``, ``"min"``, ``"max"``), or None when ``arr`` is not a contiguous array of
        a type MPI reduces as it is, or the MPI library has no persistent collectives (before
        MPI-4): then use :meth:`iallreduce`."""
        if op not in self._ops or op == "avg" or arr.dtype not in _MPI_REDUCIBLE or \
                not arr.flags.c_contiguous:
            return None
        try:
            preq = self.comm.Allreduce_init(self._in_place, arr, op=self._ops[op])
        except (NotImplementedError, AttributeError, self.MPI.Exception):
            return None
        return PersistentAllreduce(preq, arr, self.MPI)

    def reduce(self, arr, op="sum", root=0):
        buf, back = _reducible(arr)
        if self.rank == root:
            self.comm.Reduce(self.MPI.IN_PLACE, buf, op=self._ops[op], root=root)
            fin = _chain(back, self._avg(arr, op))
            if fin is not None:
                fin()
        else:
            self.comm.Reduce(buf, None, op=self._ops[op], root=root)
        return arr

    def reduce_scatter(self, send, recv, op="sum"):
        sbuf, _ = _reducible(send)
        rbuf, back = _reducible(recv)
        if sbuf is send and not send.flags.c_contiguous:
            sbuf = np.ascontiguousarray(send)
        self.comm.Reduce_scatter_block(sbuf, rbuf, op=self._ops[op])
        fin = _chain(back, self._avg(recv, op))
        if fin is not None:
            fin()
        return recv

    # ---- data movement (as bytes: any dtype) ------------------------------------------------
    def bcast(self, arr, root=0):
        buf, back = _staged(arr)
        self.comm.Bcast(_bytes(buf), root=root)
        if back is not None and self.rank != root:
            back()
        return arr

    def ibcast(self, arr, root=0):
        buf, back = _staged(arr)
        req = self.comm.Ibcast(_bytes(buf), root=root)
        return Request(req, back if self.rank != root else None)

    def allgather_raw(self, arr, out):
        """``allgather`` of a contiguous array of an MPI type into a contiguous ``out``
        (no staging: the collectives' per-call signature check)."""
        self.comm.Allgather(arr, out)

    def allgather(self, arr, out):
        sbuf = np.ascontiguousarray(arr)
        rbuf, back = _staged(out)
        self.comm.Allgather(_bytes(sbuf), _bytes(rbuf))
        if back is not None:
            back()
        return out

    def iallgather(self, arr, out):
        sbuf = np.ascontiguousarray(arr)
        rbuf, back = _staged(out)
        req = self.comm.Iallgather(_bytes(sbuf), _bytes(rbuf))
        return Request(req, _chain(back, lambda: sbuf))  # keeps sbuf alive until done

    def gather(self, arr, out, root=0):
        sbuf = np.ascontiguousarray(arr)
        if self.rank == root:
            rbuf, back = _staged(out)
            self.comm.Gather(_bytes(sbuf), _bytes(rbuf), root=root)
            if back is not None:
                back()
        else:
            self.comm.Gather(_bytes(sbuf), None, root=root)
        return out

    def scatter(self, send, recv, root=0):
        rbuf, back = _staged(recv)
        sbuf = _bytes(np.ascontiguousarray(send)) if self.rank == root else None
        self.comm.Scatter(sbuf, _bytes(rbuf), root=root)
        if back is not None:
            back()
        return recv

    # ---- point to point ----------------------------------------------------------------------
    def send(self, arr, dest, tag=0):
        self.comm.Send(_bytes(np.ascontiguousarray(arr)), dest=dest, tag=tag)

    def recv(self, arr, source, tag=0):
        """Receive into ``arr``; ``source=None`` takes any rank. Returns the sender's rank."""
        MPI = self.MPI
        buf, back = _staged(arr)
        st = MPI.Status()
        src = MPI.ANY_SOURCE if source is None else source
        self._p2p_recv(lambda: self.comm.Recv(_bytes(buf), source=src, tag=tag, status=st),
                       arr, source)
        if back is not None:
            back()
        return st.Get_source()

    def _p2p_recv(self, fn, arr, source):
        try:
            fn()
        except self.MPI.Exception as e:
            if e.Get_error_class() == self.MPI.ERR_TRUNCATE:
                raise RuntimeError(
                    f"recv: the message from rank {source} is larger than the receiving tensor "
                    f"(shape {arr.shape}, {arr.dtype}, {arr.nbytes} bytes); send and recv must "
                    f"use tensors of the same shape and dtype") from None
            raise

    def isend(self, arr, dest, tag=0):
        sbuf = np.ascontiguousarray(arr)
        req = self.comm.Isend(_bytes(sbuf), dest=dest, tag=tag)
        return Request(req, lambda: sbuf)

    def irecv(self, arr, source, tag=0):
        buf, back = _staged(arr)
        src = self.MPI.ANY_SOURCE if source is None else source
        req = self.comm.Irecv(_bytes(buf), source=src, tag=tag)
        return Request(req, back)

    # ---- the rest ----------------------------------------------------------------------------
    def barrier(self):
        self.comm.Barrier()

    def bcast_object(self, obj, root=0):
        return self.comm.bcast(obj, root=root)

    def allgather_object(self, obj):
        return self.comm.allgather(obj)

    def gather_object(self, obj, root=0):
        return self.comm.gather(obj, root=root)

    def scatter_object(self, objs, root=0):
        return self.comm.scatter(objs, root=root)

    def split(self, ranks):
        """A communicator over ``ranks`` (ranks of this one, in that order); collective over
        all ranks of this communicator. None on the ranks not in ``ranks``."""
        ranks = list(ranks)
        member = self.rank in ranks
        color = 0 if member else self.MPI.UNDEFINED
        sub = self.comm.Split(color, ranks.index(self.rank) if member else 0)
        return MPICommunicator(sub) if member else None

    def abort(self, code=1):
        self.comm.Abort(code)
