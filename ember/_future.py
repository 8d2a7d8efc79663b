"""The switches behind ``ember.__future__`` (PyTorch's ``torch.__future__``): behaviour
that PyTorch is moving to.

``set_swap_module_params_on_conversion(True)``: ``Module.load_state_dict(assign=True)`` keeps
the module's parameter and buffer objects and gives them the checkpoint's tensors' data
(dtype, device, values), as PyTorch's ``swap_tensors`` path, so an optimizer built before the
load keeps working. ``Module.to()``/``float()``/``double()`` convert the parameters in place
(the same objects) whatever the switch says.

>>> from ember import _future
>>> _future.get_swap_module_params_on_conversion()
False
"""

_SWAP_ON_CONVERSION = [False]


def set_swap_module_params_on_conversion(value):
    """Turn the swap path of module conversion and ``load_state_dict(assign=True)`` on/off."""
    _SWAP_ON_CONVERSION[0] = bool(value)


def get_swap_module_params_on_conversion():
    """Whether ``set_swap_module_params_on_conversion(True)`` is in effect (default False)."""
    return _SWAP_ON_CONVERSION[0]

