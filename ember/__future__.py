"""``ember.__future__`` (PyTorch's ``torch.__future__``): switches for behaviour that PyTorch
is moving to (kept in ``ember._future``, which ember's own modules import).

>>> import ember.__future__
>>> ember.__future__.get_swap_module_params_on_conversion()
False
"""
from ._future import (  # noqa: F401
    get_swap_module_params_on_conversion, set_swap_module_params_on_conversion)
