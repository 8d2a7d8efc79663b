"""``ember.autograd``: PyTorch's eager autograd API.

``backward``/``grad`` run the tape; ``no_grad``/``enable_grad``/``set_grad_enabled`` set this
thread's grad mode; ``graph.queue_callback`` (also spelled
``Variable._execution_engine.queue_callback``, as PyTorch) runs a function when the current
backward pass ends; ``set_vjp_executor`` is the hook through which ``ember`` runs first-order
VJP rules as staged plans (``transforms/vjp_plans.py``), ``set_backward_replayer`` the one
through which it replays a repeating tape's whole backward as one compiled plan
(``transforms/tape_plans.py``).
"""
from ..core.autograd import (  # noqa: F401
    backward, grad, no_grad, enable_grad, set_grad_enabled, is_grad_enabled, Node,
    set_vjp_executor, set_backward_replayer, queue_callback)
from ..core.creation import tensor as _tensor
from ..core.tensor import Tensor as _Tensor
from . import graph  # noqa: F401
from . import profiler  # noqa: F401  (torch.autograd.profiler)
from . import forward_ad  # noqa: F401  (torch.autograd.forward_ad: dual tensors)


class _ExecutionEngine:
    """PyTorch's ``Variable._execution_engine``: only ``queue_callback`` is offered."""

    @staticmethod
    def queue_callback(callback):
        """Run ``callback()`` when the backward pass running in this thread ends."""
        queue_callback(callback)


class Variable:
    """PyTorch's legacy ``Variable``: ``Variable(data, requires_grad=False)`` returns a
    Tensor; ``Variable._execution_engine.queue_callback(cb)`` queues an end-of-backward
    callback.

    >>> v = ember.autograd.Variable([1., 2.], requires_grad=True)
    >>> type(v).__name__, v.requires_grad
    ('Tensor', True)
    """

    _execution_engine = _ExecutionEngine()

    def __new__(cls, data, requires_grad=False):
        t = data if isinstance(data, _Tensor) else _tensor(data)
        if requires_grad:
            t.requires_grad_(True)
        return t
from .function import Function, FunctionCtx, once_differentiable  # noqa: F401,E402
from .anomaly import (  # noqa: F401,E402
    set_detect_anomaly, detect_anomaly, is_anomaly_enabled, is_anomaly_check_nan_enabled)
from . import function  # noqa: F401,E402  (torch.autograd.function's import path)
from .gradcheck import gradcheck, gradgradcheck, GradcheckError  # noqa: F401,E402
from ..core.autograd import inference_mode, is_inference_mode_enabled  # noqa: F401,E402
