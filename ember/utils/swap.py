"""``ember.utils.swap_tensors`` (PyTorch's ``torch.utils.swap_tensors``)."""
from ..core.tensor import Tensor


def swap_tensors(t1, t2):
    """Exchange the contents of two tensors in place: afterwards ``t1`` holds what ``t2``
    held (data, ``requires_grad``, ``.grad``, attributes, class -- a Parameter and a plain
    tensor trade their kind too) and the other way round. Every reference to either object
    sees the change, which is how a module's parameter can take new data while an optimizer
    keeps holding it.

    >>> a, b = ember.arange(2), ember.arange(3)
    >>> ember.utils.swap_tensors(a, b)
    >>> a, b
    (tensor([0, 1, 2]), tensor([0, 1]))
    """
    if not isinstance(t1, Tensor) or not isinstance(t2, Tensor):
        raise TypeError(f"swap_tensors: expected two tensors, got {type(t1).__name__} and "
                        f"{type(t2).__name__}")
    if t1 is t2:
        return
    for t in (t1, t2):
        if t._node is not None:
            raise RuntimeError(
                "swap_tensors: a tensor that is the output of a recorded operation "
                f"(grad_fn={t._node.name}) cannot be swapped: its graph refers to it; swap "
                "leaf tensors, or detach() first")
    c1, c2 = type(t1), type(t2)
    d1, d2 = dict(t1.__dict__), dict(t2.__dict__)
    t1.__dict__.clear()
    t2.__dict__.clear()
    if c1 is not c2:
        t1.__class__, t2.__class__ = c2, c1
    t1.__dict__.update(d2)
    t2.__dict__.update(d1)
