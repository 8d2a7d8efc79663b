"""The exception classes ember raises besides Python's own (no imports: every layer uses them).

PyTorch raises ``RuntimeError`` where NumPy and JAX raise ``ValueError`` (or ``TypeError``:
JAX's ``dot`` of shapes that don't line up) for the same mistake, shapes that don't line up
for instance. ember's error for such a mistake is all three, so that code written for any of
them keeps catching it:

>>> try:
...     ember.ones(2, 3) @ ember.ones(4, 5)
... except RuntimeError as e:            # PyTorch-style code
...     print(type(e).__name__, isinstance(e, ValueError))
OpError True
"""


class OpError(ValueError, RuntimeError, TypeError):
    """An operation can't take its inputs: shapes that don't line up or don't broadcast, a
    size or an argument value it can't use. A ``RuntimeError`` as in PyTorch, a
    ``ValueError`` as in NumPy/JAX and a ``TypeError`` as JAX's shape checks (``except
    TypeError`` around ``jnp.dot`` of mismatched shapes).

    >>> issubclass(ember.OpError, RuntimeError) and issubclass(ember.OpError, ValueError)
    True
    >>> issubclass(ember.OpError, TypeError)
    True
    """
