"""Function transformations on the primitive table: jvp (forward mode) and vmap
(batching) and reverse mode (vjp/grad); jit builds on the same interpreter stack next."""
from .jvp import jvp, jacfwd  # noqa: F401
from .batching import vmap  # noqa: F401
from .reverse import vjp, grad, value_and_grad, jacrev, hessian, stop_gradient  # noqa: F401
from .jit import jit, make_graph, disable_jit, config  # noqa: F401
