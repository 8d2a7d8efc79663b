"""Function transformations on the primitive table: jvp (forward mode) and vmap
(batching) today; grad/vjp and jit build on the same interpreter stack next."""
from .jvp import jvp, jacfwd  # noqa: F401
from .batching import vmap  # noqa: F401
