"""``jax.ad_checkpoint``: rematerialisation (``checkpoint``/``remat`` with saving policies),
``checkpoint_name`` and the residual report (``print_saved_residuals``). The machinery is in
``ember/transforms/remat.py``.

>>> from ember.ad_checkpoint import checkpoint, checkpoint_policies
>>> f = checkpoint(lambda x: x.sin(), policy=checkpoint_policies.nothing_saveable)
>>> ember.grad(lambda x: f(x).sum())(ember.zeros(2))
tensor([1., 1.])
"""
from .transforms.remat import (checkpoint, checkpoint_name, checkpoint_policies,  # noqa: F401
                               print_saved_residuals, remat, saved_residuals)

__all__ = ["checkpoint", "remat", "checkpoint_name", "checkpoint_policies",
           "print_saved_residuals", "saved_residuals"]
