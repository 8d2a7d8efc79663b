"""Function transformations on the primitive table: jvp (forward mode), vmap (batching),
reverse mode (vjp/grad), jit (``staging/``: graph IR, tracing, passes, code generation, cache
and guards, the public ``jit``; ``staging/call.py``: a jitted call as one tape node with a
compiled backward), and custom rules (custom_vjp/custom_jvp/checkpoint)."""
from .jvp import jvp  # noqa: F401
from .batching import vmap  # noqa: F401
from .reverse import vjp, grad, value_and_grad, stop_gradient  # noqa: F401
from .jacobians import jacrev, jacfwd, hessian  # noqa: F401
from .jacobians import jacrev as jacobian  # noqa: F401  (JAX's alias)
from .staging.jitted import (jit, make_graph, disable_jit, config, eval_shape,  # noqa: F401
                             ShapeDtypeStruct, block_until_ready)
from . import custom  # noqa: F401,E402  (registers its primitives)
from . import reference_rules  # noqa: F401,E402  (rules derived from reference definitions)
from .linearize import linearize, linear_transpose  # noqa: F401,E402
from .pmap import pmap  # noqa: F401,E402
