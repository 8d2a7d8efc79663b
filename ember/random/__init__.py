"""Randomness, both styles. ``ember.random``'s functions are JAX's explicit, splittable keys
(``keys.py``: Threefry-2x32, JAX's bits). The PyTorch-style stateful generator
(``generator.py``: ``manual_seed``, ``rand``, ``randn``, ``Tensor.uniform_``, dropout masks)
is built on them; ``manual_seed``, ``seed`` and ``initial_seed`` are also here, as in
``torch.random``.
"""
from .keys import *  # noqa: F401,F403
from .keys import __all__ as _key_names
from .distributions import *  # noqa: F401,F403  (exponential, laplace, multivariate_normal, ...)
from .distributions import __all__ as _dist_names
from .samplers import *  # noqa: F401,F403  (gamma, beta, dirichlet, poisson, binomial, ...)
from .samplers import __all__ as _sampler_names
from .generator import manual_seed, seed, initial_seed, Generator, default_generator  # noqa: F401

__all__ = _key_names + _dist_names + _sampler_names + ["manual_seed", "seed", "initial_seed"]
