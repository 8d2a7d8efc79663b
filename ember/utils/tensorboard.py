"""``ember.utils.tensorboard.SummaryWriter``: PyTorch's class, writing TensorBoard event files
through the ``tensorboard`` package's own event writer and protocol buffers (``pip install
'ember[tensorboard]'``). Scalars, groups of scalars, histograms, images, text and the graph of a
model (from ``ember.make_graph``, jit's staged graph) are logged; ``tensorboard --logdir runs``
shows them."""
from __future__ import annotations

import os
import socket
import struct
import time
import zlib
from datetime import datetime

import numpy as np

__all__ = ["SummaryWriter"]


def _tb():
    try:
        from tensorboard.compat.proto import (attr_value_pb2, event_pb2, graph_pb2,
                                              node_def_pb2, summary_pb2, tensor_pb2,
                                              tensor_shape_pb2, types_pb2, versions_pb2)
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError:
        raise ImportError("ember.utils.tensorboard needs the tensorboard package: pip install "
                          "tensorboard (or pip install 'ember[tensorboard]')") from None
    return dict(attr=attr_value_pb2, event=event_pb2, graph=graph_pb2, node=node_def_pb2,
                summary=summary_pb2, tensor=tensor_pb2, shape=tensor_shape_pb2,
                types=types_pb2, versions=versions_pb2, EventFileWriter=EventFileWriter)


def _array(x, op):
    from ..core.tensor import Tensor
    if isinstance(x, Tensor):
        return x.detach().numpy()
    a = np.asarray(x)
    if a.dtype == object:
        raise TypeError(f"SummaryWriter.{op}: expected a tensor, array or number, got "
                        f"{type(x).__name__}")
    return a


def _scalar(v, op):
    a = _array(v, op)
    if a.size != 1:
        raise ValueError(f"SummaryWriter.{op}: expected a single value, got shape {a.shape}; "
                         f"log a tensor's mean() or item()")
    return float(a.reshape(()).astype(np.float64))


# ---- histograms ----------------------------------------------------------------------------
def _tensorflow_bins():
    """TensorFlow's default histogram edges: +-1e-12 growing by 10% up to 1e20, and 0."""
    pos, v = [], 1e-12
    while v < 1e20:
        pos.append(v)
        v *= 1.1
    pos.append(np.finfo(np.float64).max)
    return np.array([-p for p in reversed(pos)] + [0.0] + pos)


_TF_BINS = None


def _histogram_proto(pb, values, bins, max_bins=None):
    global _TF_BINS
    a = values.astype(np.float64).ravel()
    if a.size == 0:
        raise ValueError("SummaryWriter.add_histogram: the values are empty")
    if not np.all(np.isfinite(a)):
        raise ValueError("SummaryWriter.add_histogram: the values contain NaN or infinity")
    if isinstance(bins, str) and bins == "tensorflow":
        if _TF_BINS is None:
            _TF_BINS = _tensorflow_bins()
        bins = _TF_BINS
    counts, edges = np.histogram(a, bins=bins)
    if max_bins is not None and len(counts) > max_bins:
        k = -(-len(counts) // max_bins)
        pad = (-len(counts)) % k
        counts = np.pad(counts, (0, pad)).reshape(-1, k).sum(1)
        edges = np.concatenate([edges[:-1:k], edges[-1:]])
    nz = np.nonzero(counts)[0]
    lo, hi = (nz[0], nz[-1] + 1) if nz.size else (0, len(counts))
    lo = max(lo - 1, 0)  # keep one empty bucket on the left, as TensorBoard expects an edge
    return pb.HistogramProto(min=float(a.min()), max=float(a.max()), num=int(a.size),
                             sum=float(a.sum()), sum_squares=float(np.dot(a, a)),
                             bucket_limit=[float(e) for e in edges[lo + 1:hi + 1]],
                             bucket=[float(c) for c in counts[lo:hi]])


# ---- images --------------------------------------------------------------------------------
def _png(img):
    """Encode an HxWxC uint8 array (C = 1, 3 or 4) as PNG bytes."""
    h, w, c = img.shape
    color = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    raw = b"".join(b"\x00" + img[i].tobytes() for i in range(h))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def _to_hwc(a, dataformats, op):
    fmt = dataformats.upper()
    if len(fmt) != a.ndim or sorted(fmt) not in (sorted("HW"), sorted("CHW"), sorted("NCHW")):
        raise ValueError(f"SummaryWriter.{op}: dataformats {dataformats!r} does not fit an "
                         f"image of shape {a.shape} (use e.g. 'CHW', 'HWC', 'HW', 'NCHW')")
    if "N" in fmt:
        a = a.transpose([fmt.index(ch) for ch in "NHWC"])
        n, h, w, c = a.shape
        cols = int(np.ceil(np.sqrt(n)))
        rows = int(np.ceil(n / cols))
        grid = np.zeros((rows * h, cols * w, c), a.dtype)
        for i in range(n):
            r, q = divmod(i, cols)
            grid[r * h:(r + 1) * h, q * w:(q + 1) * w] = a[i]
        return grid
    if "C" not in fmt:
        return a.transpose([fmt.index(ch) for ch in "HW"])[:, :, None]
    return a.transpose([fmt.index(ch) for ch in "HWC"])


def _image_uint8(a, op):
    if a.dtype == np.uint8:
        return a
    if a.dtype.kind not in "fiub":
        raise TypeError(f"SummaryWriter.{op}: can't show a {a.dtype} image")
    if a.dtype.kind == "f":
        return (np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return np.clip(a, 0, 255).astype(np.uint8)


class SummaryWriter:
    """Writes TensorBoard event files into ``log_dir`` (default ``runs/<time>_<host><comment>``),
    with PyTorch's methods: ``add_scalar``, ``add_scalars``, ``add_histogram``, ``add_image``,
    ``add_images``, ``add_text``, ``add_graph``, ``flush``, ``close`` (and ``with``)."""

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120,
                 filename_suffix=""):
        self._pb = _tb()
        if not log_dir:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = os.fspath(log_dir)
        self.purge_step, self.max_queue, self.flush_secs = purge_step, max_queue, flush_secs
        self.filename_suffix = filename_suffix
        self._writer = None
        self._all = {}  # add_scalars' sub-writers, by folder
        self._closed = False
        self._file_writer()

    # ---- plumbing ------------------------------------------------------------------------
    def _file_writer(self):
        if self._closed:
            raise RuntimeError(f"SummaryWriter({self.log_dir!r}) is closed; make a new one")
        if self._writer is None:
            self._writer = self._pb["EventFileWriter"](self.log_dir, self.max_queue,
                                                       self.flush_secs, self.filename_suffix)
            if self.purge_step is not None:
                ev = self._pb["event"]
                self._writer.add_event(ev.Event(step=int(self.purge_step), wall_time=time.time(),
                                                session_log=ev.SessionLog(
                                                    status=ev.SessionLog.START)))
                self.purge_step = None
        return self._writer

    def get_logdir(self):
        return self.log_dir

    def _add(self, summary, global_step, walltime, writer=None):
        ev = self._pb["event"].Event(summary=summary,
                                     wall_time=time.time() if walltime is None else walltime)
        if global_step is not None:
            ev.step = int(global_step)
        (writer or self._file_writer()).add_event(ev)

    # ---- data ----------------------------------------------------------------------------
    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False,
                   double_precision=False):
        """Log one number (a Python number, a one-element tensor or array)."""
        s = self._pb["summary"]
        v = _scalar(scalar_value, "add_scalar")
        if new_style:
            t = self._pb["tensor"]
            dt = self._pb["types"]
            tp = (t.TensorProto(dtype=dt.DT_DOUBLE, double_val=[v]) if double_precision else
                  t.TensorProto(dtype=dt.DT_FLOAT, float_val=[v]))
            meta = s.SummaryMetadata(plugin_data=s.SummaryMetadata.PluginData(
                plugin_name="scalars"))
            val = s.Summary.Value(tag=tag, tensor=tp, metadata=meta)
        else:
            val = s.Summary.Value(tag=tag, simple_value=v)
        self._add(s.Summary(value=[val]), global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Log several numbers in one chart: each goes to its own run folder
        ``<log_dir>/<main_tag>_<tag>`` under the tag ``main_tag``, as PyTorch does."""
        s = self._pb["summary"]
        for tag, value in tag_scalar_dict.items():
            folder = os.path.join(self.log_dir, f"{main_tag.replace('/', '_')}_{tag}")
            w = self._all.get(folder)
            if w is None:
                w = self._all[folder] = self._pb["EventFileWriter"](
                    folder, self.max_queue, self.flush_secs, self.filename_suffix)
            val = s.Summary.Value(tag=main_tag, simple_value=_scalar(value, "add_scalars"))
            self._add(s.Summary(value=[val]), global_step, walltime, writer=w)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None):
        """Log the distribution of ``values``; ``bins`` is ``"tensorflow"`` (TensorFlow's
        exponential buckets, PyTorch's default), a NumPy bins rule (``"auto"``, ``"fd"``...),
        a count or the edges."""
        s = self._pb["summary"]
        h = _histogram_proto(s, _array(values, "add_histogram"), bins, max_bins)
        self._add(s.Summary(value=[s.Summary.Value(tag=tag, histo=h)]), global_step, walltime)

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        """Log an image: float values in [0, 1] or uint8, layout ``dataformats`` (CHW, HWC,
        HW) with 1, 3 or 4 channels."""
        self._image(tag, img_tensor, global_step, walltime, dataformats, "add_image")

    def add_images(self, tag, img_tensor, global_step=None, walltime=None, dataformats="NCHW"):
        """Log a batch of images as one grid."""
        self._image(tag, img_tensor, global_step, walltime, dataformats, "add_images")

    def _image(self, tag, img, global_step, walltime, dataformats, op):
        a = _image_uint8(_to_hwc(_array(img, op), dataformats, op), op)
        if a.shape[2] not in (1, 3, 4):
            raise ValueError(f"SummaryWriter.{op}: an image has 1, 3 or 4 channels, got "
                             f"{a.shape[2]} (shape {a.shape} as HWC)")
        s = self._pb["summary"]
        im = s.Summary.Image(height=a.shape[0], width=a.shape[1], colorspace=a.shape[2],
                             encoded_image_string=_png(np.ascontiguousarray(a)))
        self._add(s.Summary(value=[s.Summary.Value(tag=tag, image=im)]), global_step, walltime)

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        """Log a (Markdown) text."""
        s, t, dt = self._pb["summary"], self._pb["tensor"], self._pb["types"]
        shape = self._pb["shape"].TensorShapeProto(
            dim=[self._pb["shape"].TensorShapeProto.Dim(size=1)])
        tp = t.TensorProto(dtype=dt.DT_STRING, string_val=[str(text_string).encode("utf-8")],
                           tensor_shape=shape)
        meta = s.SummaryMetadata(plugin_data=s.SummaryMetadata.PluginData(plugin_name="text"))
        val = s.Summary.Value(tag=tag + "/text_summary", metadata=meta, tensor=tp)
        self._add(s.Summary(value=[val]), global_step, walltime)

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        """Log the computation of ``model(*input_to_model)`` as traced by ``ember.make_graph``
        (jit's staged, optimised graph): one node per primitive, with its parameters and
        output shapes; inputs, captured constants (parameters) and outputs as their own
        nodes."""
        from ..transforms import make_graph
        if input_to_model is None:
            raise ValueError("SummaryWriter.add_graph: pass input_to_model (a tensor or a "
                             "tuple of tensors): the graph is traced from a call")
        args = input_to_model if isinstance(input_to_model, (tuple, list)) else \
            (input_to_model,)
        graph = make_graph(lambda *xs: model(*xs))(*args)
        gd = self._graph_def(graph, type(model).__name__)
        if verbose:
            print(graph)
        ev = self._pb["event"].Event(graph_def=gd.SerializeToString(), wall_time=time.time())
        self._file_writer().add_event(ev)

    def _graph_def(self, graph, scope):
        G, N, A = self._pb["graph"], self._pb["node"], self._pb["attr"]
        shp = self._pb["shape"]
        names, nodes = {}, []

        def shape_attr(avals):
            return A.AttrValue(list=A.AttrValue.ListValue(shape=[
                shp.TensorShapeProto(dim=[shp.TensorShapeProto.Dim(size=int(d))
                                          for d in getattr(av, "shape", ())])
                for av in avals]))

        def aval_of(v):
            return getattr(v, "aval", None)

        def dtype_str(v):
            av = aval_of(v)
            return str(getattr(getattr(av, "dtype", None), "name", "")) if av else ""

        def add(name, op, inputs, outs, params=None):
            attr = {"_output_shapes": shape_attr([aval_of(o) for o in outs if aval_of(o)])}
            if outs and dtype_str(outs[0]):
                attr["dtype"] = A.AttrValue(s=dtype_str(outs[0]).encode())
            for k, val in (params or {}).items():
                attr[str(k)] = A.AttrValue(s=repr(val).encode()[:1000])
            nodes.append(N.NodeDef(name=name, op=op, input=inputs, attr=attr))

        for i, v in enumerate(getattr(graph, "invars", [])):
            names[id(v)] = f"input/x{i}"
            add(names[id(v)], "IO Node", [], [v])
        n_const = 0
        for k, eqn in enumerate(graph.eqns):
            ins = []
            for v in eqn.ins:
                if id(v) not in names:  # a literal / captured constant
                    names[id(v)] = f"{scope}/const{n_const}"
                    n_const += 1
                    add(names[id(v)], "Const", [], [v])
                ins.append(names[id(v)])
            prim = getattr(eqn.prim, "name", str(eqn.prim))
            name = f"{scope}/{prim}_{k}"
            outs = list(eqn.outs)
            for o in outs:
                names[id(o)] = name
            add(name, prim, ins, outs, getattr(eqn, "params", None))
        outs = graph.outs if isinstance(graph.outs, (list, tuple)) else [graph.outs]
        for i, v in enumerate(outs):
            src = names.get(id(v))
            if src is None:
                src = names[id(v)] = f"{scope}/const{n_const}"
                n_const += 1
                add(src, "Const", [], [v])
            add(f"output/y{i}", "IO Node", [src], [v])
        return G.GraphDef(node=nodes, versions=self._pb["versions"].VersionDef(producer=22))

    # ---- lifetime ------------------------------------------------------------------------
    def flush(self):
        """Write everything logged so far to disk."""
        if self._writer is not None:
            self._writer.flush()
        for w in self._all.values():
            w.flush()

    def close(self):
        """Flush and close the event files (the writer can't be used afterwards)."""
        if self._closed:
            return
        if self._writer is not None:
            self._writer.close()
        for w in self._all.values():
            w.close()
        self._all.clear()
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
