"""Installing op functions as Tensor methods and collecting module exports."""
from ..core.tensor import Tensor


def method(fn, name=None):
    """Install ``fn`` as ``Tensor.<name>`` (its first argument is the tensor)."""
    setattr(Tensor, name or fn.__name__, fn)
    return fn


def export(fn, all_list, name=None):
    n = name or fn.__name__
    if n not in all_list:
        all_list.append(n)
    if name is not None:
        import sys
        mod = sys.modules[fn.__module__]
        setattr(mod, name, fn)
    return fn
