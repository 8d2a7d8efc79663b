"""Readable names for the leaves of a call's arguments (``params['w']``, ``x``, ``args[3]``),
used by jit's retrace explanations and vmap's errors."""
from __future__ import annotations

import inspect

from ..tree import SequenceKey, keystr, tree_flatten_with_path


def positional_names(fun):
    try:
        ps = inspect.signature(fun).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in ps if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def argument_leaf_names(fun, args, kwargs=None, positions=None):
    """A readable name per leaf of ``(args, kwargs)`` as passed to ``fun``: ``params['w']``,
    ``x``, ``args[3]`` (no parameter name), ``scale`` (a keyword). ``positions``: each
    arg's index in the call (when some were left out, e.g. static arguments)."""
    names = positional_names(fun)
    positions = list(range(len(args))) if positions is None else positions
    out = []
    for path, _ in tree_flatten_with_path((list(args), dict(kwargs or {})))[0]:
        if path[0] == SequenceKey(0):
            i = positions[path[1].idx]
            head = names[i] if i < len(names) else f"args[{i}]"
        else:
            head = str(path[1].key)
        out.append(head + keystr(path[2:]))
    return out

