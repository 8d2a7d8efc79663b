"""Function transformations on the primitive table: jvp (forward mode), vmap (batching),
reverse mode (vjp/grad), jit (staging and compiled plans; jit_grad: a jitted call as one tape
node with a compiled backward), and custom rules (custom_vjp/custom_jvp/checkpoint)."""
from .jvp import jvp, jacfwd  # noqa: F401
from .batching import vmap  # noqa: F401
from .reverse import vjp, grad, value_and_grad, jacrev, hessian, stop_gradient  # noqa: F401
from .reverse import jacrev as jacobian  # noqa: F401  (JAX's alias)
from .jit import (jit, make_graph, disable_jit, config, eval_shape, ShapeDtypeStruct,  # noqa: F401
                  block_until_ready)
from . import jit_grad, custom  # noqa: F401,E402  (register their primitives)
from .linearize import linearize  # noqa: F401,E402
