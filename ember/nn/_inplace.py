"""PyTorch's ``inplace=True`` of the activations and their modules.

>>> from ember.nn._inplace import into
>>> x = ember.tensor([-1., 2.])
>>> into(x, lambda t: t.clamp(0.0, 1.0), True) is x, x.tolist()
(True, [0.0, 1.0])
"""
import sys

from ..core.primitive import Tracer
from ..ops.tensor_methods import inplace_apply


def into(input, fn, inplace):
    """``fn(input)``, or (``inplace=True``) ``fn(input)`` written into ``input``, which is
    returned: views of ``input``, and whatever else holds it (a list of features kept before
    the activation), see the new values, as in PyTorch; autograd differentiates through a
    snapshot of the old value. Under ember's transforms (a traced ``input``) the result is
    computed out of place: a transformed function is pure, its value is the same."""
    if not inplace or isinstance(input, Tracer):
        return fn(input)
    op = sys._getframe(1).f_code.co_name

    def apply(t):
        return fn(t)
    apply.__name__ = op  # (errors name the activation)
    return inplace_apply(input, apply)
