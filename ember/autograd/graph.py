"""``ember.autograd.graph``: hooks into the backward pass (as ``torch.autograd.graph``).

- ``queue_callback(cb)``: from a hook during backward, run ``cb()`` once the whole pass has
  ended (every leaf's ``.grad`` written). Data-parallel gradient buckets and loss scaling
  hang off it.
- Per-leaf hooks live on the tensor: ``Tensor.register_hook(hook)`` (``hook(grad)`` may
  return a replacement gradient) and ``Tensor.register_post_accumulate_grad_hook(hook)``
  (``hook(tensor)`` runs as soon as that leaf's ``.grad`` has been accumulated in this pass).

Example::

    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> log = []
    >>> h = w.register_post_accumulate_grad_hook(
    ...     lambda t: ember.autograd.graph.queue_callback(lambda: log.append(t.grad.tolist())))
    >>> (w * 3).sum().backward()
    >>> log
    [[3.0, 3.0]]
    >>> h.remove()
"""
from ..core.autograd import queue_callback  # noqa: F401

from ..core import autograd as _core_autograd  # noqa: E402
from ..core.tensor import Tensor as _Tensor  # noqa: E402

# ---------------------------------------------------------------------------------------
# Saved-tensor hooks. While a ``saved_tensors_hooks`` context is active, the tape records
# nodes of the subclass ``_HookedNode`` (the core's ``Node`` name is rebound, so nothing
# changes when no hooks are active): it hands each tensor a VJP rule keeps (the inputs whose
# values the rule reads, and the output when the rule reads it) to ``pack`` when the node is
# recorded, keeps only what ``pack`` returned, and calls ``unpack`` when backward first
# reads the saved values (once per node and pass; dropped with the node's saved values).
# ---------------------------------------------------------------------------------------

_hook_stack: list = []      # (pack, unpack) pairs, innermost last
_disabled: list = []        # error messages of active disable_saved_tensors_hooks
_BaseNode = _core_autograd.Node
_raw_args = _BaseNode.args  # the slot descriptors of the base class
_raw_out = _BaseNode.out
_PACKED = object()          # marks a saved value that lives in the packed list


class _HookedNode(_BaseNode):
    __slots__ = ("_unpack", "_packed", "_packed_out", "_args_cache", "_out_cache")

    def __init__(self, prim, params, args, out, n_out):
        self._packed = self._packed_out = self._args_cache = self._out_cache = None
        super().__init__(prim, params, args, out, n_out)
        pack, unpack = _hook_stack[-1]
        self._unpack = unpack
        kept = _raw_args.__get__(self)
        packed, raw = {}, list(kept)
        for i, (orig, k) in enumerate(zip(args, kept)):
            if isinstance(k, _Tensor) and k is orig:  # (a stand-in's value is not read)
                packed[i] = pack(k)
                raw[i] = _PACKED
                self.versions[i] = None  # what unpack returns is checked by the hooks' owner
        if packed:
            self._packed = packed
            _raw_args.__set__(self, tuple(raw))
        o = _raw_out.__get__(self)
        if o is not None:
            if n_out == 1:
                self._packed_out = pack(_Tensor._wrap(o))
            else:
                self._packed_out = tuple(pack(_Tensor._wrap(a)) for a in o)
            _raw_out.__set__(self, _PACKED)

    @property
    def args(self):
        raw = _raw_args.__get__(self)
        if raw is None or self._packed is None:
            return raw
        if self._args_cache is None:
            unpack = self._unpack
            self._args_cache = tuple(_check_unpacked(unpack(self._packed[i]), a, "input")
                                     if a is _PACKED else a
                                     for i, a in enumerate(raw))
        return self._args_cache

    @args.setter
    def args(self, value):
        _raw_args.__set__(self, value)
        if value is None:  # the saved values are freed
            self._packed = self._args_cache = None

    @property
    def out(self):
        raw = _raw_out.__get__(self)
        if raw is not _PACKED:
            return raw
        if self._out_cache is None:
            unpack = self._unpack
            if self.n_out == 1:
                self._out_cache = _check_unpacked(unpack(self._packed_out), None,
                                                  "output")._data
            else:
                self._out_cache = tuple(_check_unpacked(unpack(p), None, "output")._data
                                        for p in self._packed_out)
        return self._out_cache

    @out.setter
    def out(self, value):
        _raw_out.__set__(self, value)
        if value is None:
            self._packed_out = self._out_cache = None


def _check_unpacked(t, like, what):
    if not isinstance(t, _Tensor):
        raise TypeError(f"saved_tensors_hooks: unpack_hook must return a tensor (the saved "
                        f"{what}), got {type(t).__name__}")
    return t


class saved_tensors_hooks:
    """Context manager: ``pack_hook(tensor)`` runs for each tensor the autograd tape saves
    for backward (what it returns is kept instead of the tensor) and ``unpack_hook(packed)``
    runs when backward needs it (it must return a tensor of the saved one's shape and
    dtype), as ``torch.autograd.graph.saved_tensors_hooks``. Contexts nest (the innermost
    applies); the hooks apply in every thread while the context is active.

    >>> packed = []
    >>> def pack(t):
    ...     packed.append(tuple(t.shape))
    ...     return t.detach().numpy().copy()
    >>> x = ember.tensor([1., 2.], requires_grad=True)
    >>> with ember.autograd.graph.saved_tensors_hooks(pack, ember.from_numpy):
    ...     y = (x * x).sum()
    >>> y.backward()
    >>> packed, x.grad
    ([(2,), (2,), (2,)], tensor([2., 4.]))
    """

    def __init__(self, pack_hook, unpack_hook):
        if not callable(pack_hook) or not callable(unpack_hook):
            raise TypeError("saved_tensors_hooks: pack_hook and unpack_hook must be callable")
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        if _disabled:
            raise RuntimeError(_disabled[-1])
        _hook_stack.append((self.pack_hook, self.unpack_hook))
        _core_autograd.Node = _HookedNode
        return self

    def __exit__(self, *exc):
        _hook_stack.remove((self.pack_hook, self.unpack_hook))
        if not _hook_stack:
            _core_autograd.Node = _BaseNode
        return False


class save_on_cpu(saved_tensors_hooks):
    """Keep the tensors saved for backward on the CPU (as ``torch.autograd.graph.
    save_on_cpu``): each is copied to a CPU tensor when saved and moved back to its device
    when backward needs it. ``pin_memory`` is accepted (there is no pinned memory here).

    >>> x = ember.tensor([1., 2.], requires_grad=True)
    >>> with ember.autograd.graph.save_on_cpu():
    ...     y = (x.exp() * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([ 5.4366, 22.1672])
    """

    def __init__(self, pin_memory=False, device_type="cuda"):
        def pack(t):
            return (t.device, _Tensor._wrap(_cpu_copy(t)))

        def unpack(packed):
            device, t = packed
            return t if device.type == "cpu" else t.to(device)
        super().__init__(pack, unpack)


def _cpu_copy(t):
    d = t._data
    if type(d).__module__ == "numpy":
        return d.copy()
    return _Tensor._wrap(d).cpu()._data


class disable_saved_tensors_hooks:
    """Context manager: entering ``saved_tensors_hooks`` inside raises
    ``RuntimeError(error_message)`` (as ``torch.autograd.graph.
    disable_saved_tensors_hooks``).

    >>> with ember.autograd.graph.disable_saved_tensors_hooks("no hooks here"):
    ...     try:
    ...         with ember.autograd.graph.save_on_cpu():
    ...             pass
    ...     except RuntimeError as e:
    ...         print(e)
    no hooks here
    """

    def __init__(self, error_message):
        self.error_message = error_message

    def __enter__(self):
        if _hook_stack:
            raise RuntimeError(self.error_message)
        _disabled.append(self.error_message)
        return self

    def __exit__(self, *exc):
        _disabled.remove(self.error_message)
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*a, **k):
            with disable_saved_tensors_hooks(self.error_message):
                return fn(*a, **k)
        return wrapper
