"""jit, split by stage (each module imports only the ones before it):

- ``ir``: the graph IR (Var, Lit, Eqn, Graph) and its printing;
- ``tracing``: staging a Python function into a Graph (StageTrace, ``trace_to_graph``);
- ``passes``: constant folding, CSE, DCE, simplifications, in-place targets, ``optimize``;
- ``codegen``: generated straight-line plans (``compile_plan``) and ``eval_graph``;
- ``guards``: cache keys, repeat-call guards, retrace explanations;
- ``call``: a jitted call as one primitive (the eager tape's node with a compiled backward);
- ``jitted``: the public ``jit``/``Jitted``, ``make_graph``, ``eval_shape``, ``lower``.

The public names are re-exported by ``ember.transforms`` and ``ember``.
"""
