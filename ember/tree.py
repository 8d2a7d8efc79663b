"""Pytrees: nested containers (tuple, list, dict, namedtuple, dataclass, None, registered
types) whose leaves are tensors or other values, with JAX's names and semantics."""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

_registry: dict[type, tuple[Callable, Callable]] = {}


def register_pytree_node(cls, flatten, unflatten):
    """Register ``cls``: ``flatten(x) -> (children, aux)``, ``unflatten(aux, children) -> x``."""
    _registry[cls] = (flatten, unflatten)
    return cls


def register_dataclass(cls):
    """Register a dataclass: every field is a child."""
    names = [f.name for f in dataclasses.fields(cls)]
    register_pytree_node(cls, lambda x: ([getattr(x, n) for n in names], None),
                         lambda aux, ch: cls(**dict(zip(names, ch))))
    return cls


class PyTreeDef:
    """The structure of a pytree (everything but its leaves)."""

    __slots__ = ("kind", "aux", "children", "num_leaves", "_k", "_h")

    def __init__(self, kind, aux, children):
        self.kind = kind
        self.aux = aux
        self.children = children
        self.num_leaves = 1 if kind is None else sum(c.num_leaves for c in children)
        # the comparison key and hash are built once, from the children's (jit looks them up
        # on every call)
        self._k = (kind, aux, tuple(c._k for c in children))
        self._h = hash((kind, aux, tuple(c._h for c in children)))

    def _key(self):
        return self._k

    def __eq__(self, other):
        return isinstance(other, PyTreeDef) and self._h == other._h and self._k == other._k

    def __hash__(self):
        return self._h

    def __repr__(self):
        if self.kind is None:
            return "*"
        if self.kind is type(None):
            return "None"
        inner = ", ".join(repr(c) for c in self.children)
        if self.kind is dict:
            inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.aux, self.children))
            return "{" + inner + "}"
        if self.kind is list:
            return f"[{inner}]"
        if self.kind is tuple:
            return f"({inner}{',' if len(self.children) == 1 else ''})"
        return f"{self.kind.__name__}({inner})"


_LEAF = PyTreeDef(None, None, ())  # every leaf shares one structure


def _flatten_one(x):
    """(kind, aux, children) or None for a leaf."""
    t = type(x)
    if t is tuple:
        return tuple, None, list(x)
    if t is list:
        return list, None, list(x)
    if t is dict:
        keys = sorted(x.keys(), key=_sort_key)
        return dict, tuple(keys), [x[k] for k in keys]
    if x is None:
        return type(None), None, []
    if t in _registry:
        ch, aux = _registry[t][0](x)
        return t, aux, list(ch)
    if isinstance(x, tuple) and hasattr(t, "_fields"):  # namedtuple
        return t, None, list(x)
    if dataclasses.is_dataclass(x) and not isinstance(x, type) and t in _registry:
        ch, aux = _registry[t][0](x)
        return t, aux, list(ch)
    for base, (fl, _) in _registry.items():
        if isinstance(x, base):
            ch, aux = fl(x)
            return base, aux, list(ch)
    return None


def _sort_key(k):
    return (type(k).__name__, k) if not isinstance(k, (int, float, str)) else ("", str(k))


def tree_flatten(tree, is_leaf=None):
    """(leaves, treedef)."""
    leaves = []
    from .core.tensor import Tensor

    def rec(x):
        if type(x) is Tensor or (is_leaf is not None and is_leaf(x)):
            leaves.append(x)
            return _LEAF
        r = _flatten_one(x)
        if r is None:
            leaves.append(x)
            return _LEAF
        kind, aux, ch = r
        return PyTreeDef(kind, aux, tuple([rec(c) for c in ch]))
    return leaves, rec(tree)


_sorted_keys: dict = {}  # a dict's keys in insertion order -> in pytree order


def flatten_with_key(tree):
    """(leaves, key): the leaves in ``tree_flatten``'s order and a hashable key that is equal
    exactly when the structures are; cheaper than a PyTreeDef (jit builds one per call)."""
    from .core.tensor import Tensor
    leaves = []

    def rec(x):
        t = type(x)
        if t is Tensor:
            leaves.append(x)
            return None
        if t is tuple or t is list:
            return (t, tuple([rec(c) for c in x]))
        if t is dict:
            ks = tuple(x)
            sk = _sorted_keys.get(ks)
            if sk is None:
                if len(_sorted_keys) > 4096:
                    _sorted_keys.clear()
                sk = _sorted_keys[ks] = tuple(sorted(ks, key=_sort_key))
            return (dict, sk, tuple([rec(x[k]) for k in sk]))
        r = _flatten_one(x)
        if r is None:
            leaves.append(x)
            return None
        kind, aux, ch = r
        return (kind, aux, tuple([rec(c) for c in ch]))
    return leaves, rec(tree)


_builders: dict = {}


def unflattener(treedef: PyTreeDef):
    """A function of a leaf list that builds the tree ``treedef`` describes, as straight-line
    Python compiled once per structure (jit rebuilds its outputs on every call)."""
    fn = _builders.get(treedef)
    if fn is not None:
        return fn
    glb, counter = {}, [0]

    def const(v):
        name = f"k{len(glb)}"
        glb[name] = v
        return name

    def src(d):
        if d.kind is None:
            counter[0] += 1
            return f"l[{counter[0] - 1}]"
        ch = [src(c) for c in d.children]
        if d.kind is tuple:
            return "(" + "".join(c + ", " for c in ch) + ")"
        if d.kind is list:
            return "[" + ", ".join(ch) + "]"
        if d.kind is dict:
            return "{" + ", ".join(f"{const(k)}: {c}" for k, c in zip(d.aux, ch)) + "}"
        if d.kind is type(None):
            return "None"
        if d.kind in _registry:
            return f"{const(_registry[d.kind][1])}({const(d.aux)}, [{', '.join(ch)}])"
        return f"{const(d.kind)}({', '.join(ch)})"  # namedtuple
    body = src(treedef)
    exec(compile(f"def build(l):\n    return {body}\n", "<ember.tree unflatten>", "exec"), glb)
    fn = glb["build"]
    if len(_builders) > 4096:
        _builders.clear()
    _builders[treedef] = fn
    return fn


def tree_unflatten(treedef: PyTreeDef, leaves):
    it = iter(leaves)

    def rec(d):
        if d.kind is None:
            return next(it)
        ch = [rec(c) for c in d.children]
        if d.kind is tuple:
            return tuple(ch)
        if d.kind is list:
            return ch
        if d.kind is dict:
            return dict(zip(d.aux, ch))
        if d.kind is type(None):
            return None
        if d.kind in _registry:
            return _registry[d.kind][1](d.aux, ch)
        return d.kind(*ch)  # namedtuple
    out = rec(treedef)
    rest = list(it)
    if rest:
        raise ValueError(f"tree_unflatten: {len(rest)} leaves left over for structure {treedef}")
    return out


def tree_leaves(tree, is_leaf=None):
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf=None):
    return tree_flatten(tree, is_leaf)[1]


def tree_map(f, tree, *rest, is_leaf=None):
    """Apply ``f`` leafwise over ``tree`` and trees of the same structure."""
    leaves, td = tree_flatten(tree, is_leaf)
    others = []
    for r in rest:
        lv, td2 = tree_flatten(r, is_leaf)
        if td2 != td:
            raise ValueError(f"tree_map: structures differ: {td} vs {td2}")
        others.append(lv)
    return tree_unflatten(td, [f(*xs) for xs in zip(leaves, *others)])


def tree_all(tree):
    return all(tree_leaves(tree))


Any_ = Any
