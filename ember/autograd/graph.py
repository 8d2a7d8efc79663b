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
