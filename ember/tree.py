"""Pytrees: nested containers (tuple, list, dict, namedtuple, dataclass, None, registered
types) whose leaves are tensors or other values, with JAX's names and semantics."""
from __future__ import annotations

import builtins
import dataclasses
import functools
from typing import Any, Callable

from .core.tensor import Tensor

_registry: dict[type, tuple[Callable, Callable]] = {}
_child_keys: dict[type, Callable] = {}  # cls -> (x, aux) -> the key entry of each child


def register_pytree_node(cls, flatten, unflatten):
    """Register ``cls``: ``flatten(x) -> (children, aux)``, ``unflatten(aux, children) -> x``.

    >>> class Pair:
    ...     def __init__(self, a, b):
    ...         self.a, self.b = a, b
    >>> ember.tree.register_pytree_node(Pair, lambda p: ((p.a, p.b), None),
    ...                                 lambda aux, children: Pair(*children))
    <class 'Pair'>
    >>> doubled = ember.tree.tree_map(lambda x: x * 2, Pair(1, ember.tensor([1., 2.])))
    >>> doubled.a, doubled.b
    (2, tensor([2., 4.]))
    """
    _registry[cls] = (flatten, unflatten)
    _child_keys.pop(cls, None)
    return cls


def register_pytree_with_keys(cls, flatten_with_keys, unflatten, flatten_func=None):
    """Register ``cls`` with named children: ``flatten_with_keys(x) -> ([(key, child), ...],
    aux)`` (keys such as ``GetAttrKey('w')`` show in ``tree_flatten_with_path``).

    >>> class Point:
    ...     def __init__(self, x, y):
    ...         self.x, self.y = x, y
    >>> ember.tree.register_pytree_with_keys(
    ...     Point,
    ...     lambda p: (((ember.tree.GetAttrKey("x"), p.x), (ember.tree.GetAttrKey("y"), p.y)),
    ...                None),
    ...     lambda aux, children: Point(*children))
    <class 'Point'>
    >>> [ember.tree.keystr(path) for path, _ in ember.tree.tree_leaves_with_path(Point(1, 2))]
    ['.x', '.y']
    """
    def flatten(x):
        kc, aux = flatten_with_keys(x)
        return [c for _, c in kc], aux
    register_pytree_node(cls, flatten_func or flatten, unflatten)
    _child_keys[cls] = lambda x, aux: [k for k, _ in flatten_with_keys(x)[0]]
    return cls


def register_dataclass(nodetype=None, data_fields=None, meta_fields=None, drop_fields=()):
    """Register a class as a pytree node whose children are its data fields (JAX's
    ``register_dataclass``). A dataclass needs no field lists: its fields are children,
    except those declared ``field(metadata=dict(static=True))``, which are static metadata
    (part of the tree structure, compared by value). Otherwise give both ``data_fields`` and
    ``meta_fields`` (names of attributes the constructor takes as keywords); the node is
    rebuilt as ``nodetype(**data, **meta)``. Usable as a decorator, also with
    ``functools.partial(register_dataclass, data_fields=..., meta_fields=...)``.

    >>> import dataclasses
    >>> @ember.tree.register_dataclass
    ... @dataclasses.dataclass
    ... class Params:
    ...     w: object
    ...     b: object
    ...     name: str = dataclasses.field(default="dense", metadata=dict(static=True))
    >>> ember.tree.tree_leaves(Params(w=ember.tensor([1., 2.]), b=ember.tensor(0.)))
    [tensor([1., 2.]), tensor(0.)]
    """
    if nodetype is None:  # @register_dataclass(data_fields=..., meta_fields=...)
        return lambda cls: register_dataclass(cls, data_fields, meta_fields, drop_fields)
    name = getattr(nodetype, "__name__", repr(nodetype))
    if (data_fields is None) != (meta_fields is None):
        raise TypeError(f"register_dataclass({name}): give both data_fields and meta_fields "
                        f"or neither; got data_fields={data_fields!r}, "
                        f"meta_fields={meta_fields!r}")
    if data_fields is None:
        if not dataclasses.is_dataclass(nodetype):
            raise TypeError(f"register_dataclass({name}): {name} is not a dataclass; decorate "
                            f"it with @dataclasses.dataclass first, or pass data_fields= and "
                            f"meta_fields= (the attribute names its constructor takes)")
        fields = [f for f in dataclasses.fields(nodetype) if f.name not in drop_fields]
        no_init = [f.name for f in fields if not f.init]
        if no_init:
            raise ValueError(f"register_dataclass({name}): the fields {no_init} are not "
                             f"constructor arguments (init=False), so a rebuilt node would "
                             f"lose them; list them in drop_fields= or give them init=True")
        meta_fields = [f.name for f in fields if f.metadata.get("static", False)]
        data_fields = [f.name for f in fields if not f.metadata.get("static", False)]
    else:
        data_fields, meta_fields = list(data_fields), list(meta_fields)
        both = set(data_fields) & set(meta_fields)
        if both:
            raise ValueError(f"register_dataclass({name}): fields {sorted(both)} are listed "
                             f"as both data and meta fields")
        if dataclasses.is_dataclass(nodetype):
            init = {f.name for f in dataclasses.fields(nodetype) if f.init} - set(drop_fields)
            listed = set(data_fields) | set(meta_fields)
            if listed != init:
                raise ValueError(
                    f"register_dataclass({name}): data_fields and meta_fields must name the "
                    f"dataclass's constructor fields exactly; missing {sorted(init - listed)}, "
                    f"unexpected {sorted(listed - init)}")
    data, meta = tuple(data_fields), tuple(meta_fields)

    def flatten(x):
        return ([(GetAttrKey(n), getattr(x, n)) for n in data],
                tuple(getattr(x, n) for n in meta))

    def unflatten(aux, children):
        return nodetype(**dict(zip(data, children)), **dict(zip(meta, aux)))
    register_pytree_with_keys(nodetype, flatten, unflatten)
    return nodetype


# ---- key paths (JAX's names): where a leaf sits in a tree ---------------------------------

@dataclasses.dataclass(frozen=True)
class DictKey:
    """A path entry: the child under dict key ``key``.

    >>> ember.tree.tree_leaves_with_path({"w": 1})
    [((DictKey(key='w'),), 1)]
    """
    key: Any

    def __str__(self):
        return f"[{self.key!r}]"


@dataclasses.dataclass(frozen=True)
class SequenceKey:
    """A path entry: the child at position ``idx`` of a list or tuple.

    >>> ember.tree.tree_leaves_with_path([7, 8])[1]
    ((SequenceKey(idx=1),), 8)
    """
    idx: int

    def __str__(self):
        return f"[{self.idx}]"


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    """A path entry: the child in attribute ``name`` (modules, dataclasses, named tuples).

    >>> str(ember.tree.GetAttrKey("weight"))
    '.weight'
    """
    name: str

    def __str__(self):
        return f".{self.name}"


@dataclasses.dataclass(frozen=True)
class FlattenedIndexKey:
    """A path entry: the child at position ``key`` of a node registered without key names.

    >>> str(ember.tree.FlattenedIndexKey(1))
    '[<flat index 1>]'
    """
    key: int

    def __str__(self):
        return f"[<flat index {self.key}>]"


def keystr(path):
    """A key path as a string, e.g. ``['params'][0].w``.

    >>> path, leaf = ember.tree.tree_leaves_with_path({"params": [{"w": 1.0}]})[0]
    >>> ember.tree.keystr(path)
    "['params'][0]['w']"
    """
    return "".join(str(k) for k in path)


class _ByValue:
    """Unhashable aux data inside a structure's key: equal when the data are equal, hashed by
    type."""

    __slots__ = ("v",)

    def __init__(self, v):
        self.v = v

    def __eq__(self, other):
        return isinstance(other, _ByValue) and bool(self.v == other.v)

    def __hash__(self):
        return hash(type(self.v))


def _key_aux(aux):
    """A node's aux data as part of a structure's key: unhashable data (a dict of static
    values) is compared by ==, as JAX's treedefs compare it."""
    try:
        hash(aux)
    except TypeError:
        return _ByValue(aux)
    return aux


class PyTreeDef:
    """The structure of a pytree (everything but its leaves).

    >>> ember.tree.tree_structure({"a": [1, 2], "b": (3,)})
    PyTreeDef({'a': [*, *], 'b': (*,)})
    >>> ember.tree.tree_structure([1, 2]) == ember.tree.tree_structure([3, 4])
    True
    """

    __slots__ = ("kind", "aux", "children", "num_leaves", "_k", "_h", "order")

    def __init__(self, kind, aux, children, order=None):
        self.kind = kind
        self.aux = aux
        self.children = children
        # a dict's keys in its insertion order when that is not the sorted (pytree) order:
        # not part of the structure's identity (JAX's dicts compare by sorted keys), but the
        # order in which unflattening inserts them, so a result keeps its input's key order
        # (what torch.func users zip against ``named_parameters()``)
        self.order = order
        self.num_leaves = 1 if kind is None else sum(c.num_leaves for c in children)
        # the comparison key and hash are built once, from the children's (jit looks them up
        # on every call)
        aux = _key_aux(aux)
        self._k = (kind, aux, tuple(c._k for c in children))
        self._h = hash((kind, aux, tuple(c._h for c in children)))

    def _key(self):
        return self._k

    def __eq__(self, other):
        return isinstance(other, PyTreeDef) and self._h == other._h and self._k == other._k

    def __hash__(self):
        return self._h

    def __repr__(self):
        return f"PyTreeDef({self._body()})"  # JAX's form: PyTreeDef((*, [*, *]))

    def _body(self):
        if self.kind is None:
            return "*"
        if self.kind is type(None):
            return "None"
        inner = ", ".join(c._body() for c in self.children)
        if self.kind is dict:
            inner = ", ".join(f"{k!r}: {c._body()}" for k, c in zip(self.aux, self.children))
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
    """(leaves, treedef).

    >>> leaves, treedef = ember.tree.tree_flatten({"b": (3, 4), "a": [ember.tensor(1.)]})
    >>> leaves                                     # dict keys in sorted order
    [tensor(1.), 3, 4]
    >>> ember.tree.tree_unflatten(treedef, [10, 20, 30])     # in the dict's own key order
    {'b': (20, 30), 'a': [10]}
    """
    leaves = []

    def rec(x):
        if isinstance(x, Tensor) or (is_leaf is not None and is_leaf(x)):
            leaves.append(x)
            return _LEAF
        r = _flatten_one(x)
        if r is None:
            leaves.append(x)
            return _LEAF
        kind, aux, ch = r
        if kind is dict:
            order = tuple(x)
            return PyTreeDef(kind, aux, tuple([rec(c) for c in ch]),
                             None if order == aux else order)
        return PyTreeDef(kind, aux, tuple([rec(c) for c in ch]))
    try:
        return leaves, rec(tree)
    except RecursionError:
        raise _too_deep("tree_flatten") from None


def _too_deep(op):
    import sys
    return ValueError(
        f"{op}: the pytree is nested too deeply to walk (deeper than Python's recursion limit "
        f"of {sys.getrecursionlimit()} frames allows), or a container holds itself. Pytrees "
        f"are for nested parameters and batches, a few levels deep: keep a long chain as a "
        f"flat list, or pass is_leaf= to stop at a container you treat as one leaf")


_sorted_keys: dict = {}  # a dict's keys in insertion order -> in pytree order


def flatten_with_key(tree):
    """(leaves, key): the leaves in ``tree_flatten``'s order and a hashable key that is equal
    exactly when the structures are; cheaper than a PyTreeDef (jit builds one per call)."""
    leaves = []

    def rec(x):
        t = type(x)
        if t is Tensor or isinstance(x, Tensor):  # tensors, parameters, tracers
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
        return (kind, _key_aux(aux), tuple([rec(c) for c in ch]))
    try:
        return leaves, rec(tree)
    except RecursionError:
        raise _too_deep("flatten_with_key") from None


_builders: dict = {}


def unflattener(treedef: PyTreeDef, *leaf_fns):
    """A function of a leaf list that builds the tree ``treedef`` describes, as straight-line
    Python compiled once per structure (jit rebuilds its outputs on every call). With
    ``leaf_fns`` (f, g, ...), each leaf ``x`` goes in as ``f(g(x))``, the calls written
    inline (no loop over the leaves before the build)."""
    key = (treedef, _orders(treedef), leaf_fns)
    fn = _builders.get(key)
    if fn is not None:
        return fn
    glb, counter = {}, [0]

    def const(v):
        name = f"k{len(glb)}"
        glb[name] = v
        return name
    calls = [const(f) for f in leaf_fns]

    def src(d):
        if d.kind is None:
            counter[0] += 1
            return "".join(f"{c}(" for c in calls) + f"l[{counter[0] - 1}]" + ")" * len(calls)
        ch = [src(c) for c in d.children]
        if d.kind is tuple:
            return "(" + "".join(c + ", " for c in ch) + ")"
        if d.kind is list:
            return "[" + ", ".join(ch) + "]"
        if d.kind is dict:
            by_key = dict(zip(d.aux, ch))
            return "{" + ", ".join(f"{const(k)}: {by_key[k]}" for k in d.order or d.aux) + "}"
        if d.kind is type(None):
            return "None"
        if d.kind in _registry:
            return f"{const(_registry[d.kind][1])}({const(d.aux)}, [{', '.join(ch)}])"
        return f"{const(d.kind)}({', '.join(ch)})"  # namedtuple
    try:
        body = src(treedef)
    except RecursionError:
        raise _too_deep("unflattener") from None
    exec(compile(f"def build(l):\n    return {body}\n", "<ember.tree unflatten>", "exec"), glb)
    fn = glb["build"]
    if len(_builders) > 4096:
        _builders.clear()
    _builders[key] = fn
    return fn


def _orders(d):
    """The dict key orders inside ``d`` (equal treedefs may insert keys in other orders)."""
    if not d.children:
        return d.order
    return (d.order, tuple([_orders(c) for c in d.children]))


def tree_unflatten(treedef: PyTreeDef, leaves):
    """The tree of structure ``treedef`` with the given leaves (in ``tree_flatten``'s order).

    >>> treedef = ember.tree.tree_structure([1, (2, 3)])
    >>> ember.tree.tree_unflatten(treedef, ["x", "y", "z"])
    ['x', ('y', 'z')]
    """
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
            out = dict(zip(d.aux, ch))
            return out if d.order is None else {k: out[k] for k in d.order}
        if d.kind is type(None):
            return None
        if d.kind in _registry:
            return _registry[d.kind][1](d.aux, ch)
        return d.kind(*ch)  # namedtuple
    try:
        out = rec(treedef)
    except RecursionError:
        raise _too_deep("tree_unflatten") from None
    rest = list(it)
    if rest:
        raise ValueError(f"tree_unflatten: {len(rest)} leaves left over for structure {treedef}")
    return out


def tree_leaves(tree, is_leaf=None):
    """The leaves of ``tree`` in order (dict keys sorted; ``None`` is an empty node).

    >>> ember.tree.tree_leaves([1, {"b": 2, "a": 3}, None, (4,)])
    [1, 3, 2, 4]
    """
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf=None):
    """The ``PyTreeDef`` of ``tree``: its structure without the leaves.

    >>> ember.tree.tree_structure((1, [2, 3]))
    PyTreeDef((*, [*, *]))
    """
    return tree_flatten(tree, is_leaf)[1]


def _leaves_like(td, rest, is_leaf, op):
    """The leaves of each tree in ``rest``, which must all have the structure ``td``."""
    others = []
    for r in rest:
        lv, td2 = tree_flatten(r, is_leaf)
        if td2 != td:
            raise ValueError(f"{op}: structures differ: {td} vs {td2}")
        others.append(lv)
    return others


def tree_map(f, tree, *rest, is_leaf=None):
    """Apply ``f`` leafwise over ``tree`` and trees of the same structure.

    >>> ember.tree.tree_map(lambda x, y: x + y, {"a": 1, "b": [2, 3]}, {"a": 10, "b": [20, 30]})
    {'a': 11, 'b': [22, 33]}
    """
    leaves, td = tree_flatten(tree, is_leaf)
    others = _leaves_like(td, rest, is_leaf, "tree_map")
    return tree_unflatten(td, [f(*xs) for xs in zip(leaves, *others)])


def tree_all(tree, is_leaf=None):
    """True when every leaf is truthy.

    >>> ember.tree.tree_all([True, {"x": 1}]), ember.tree.tree_all([True, (0,)])
    (True, False)
    """
    return builtins.all(tree_leaves(tree, is_leaf))


_MISSING = object()


def tree_reduce(function, tree, initializer=_MISSING, is_leaf=None):
    """``functools.reduce`` over the leaves.

    >>> ember.tree.tree_reduce(lambda a, b: a + b, {"a": 1, "b": [2, 3]})
    6
    >>> ember.tree.tree_reduce(max, [], initializer=0)
    0
    """
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _MISSING:
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def _keys_of(x, kind, aux, n):
    if kind is tuple or kind is list:
        return [SequenceKey(i) for i in range(n)]
    if kind is dict:
        return [DictKey(k) for k in aux]
    fn = _child_keys.get(kind)
    if fn is not None:
        return fn(x, aux)
    if kind not in _registry and hasattr(kind, "_fields"):  # namedtuple
        return [GetAttrKey(f) for f in kind._fields]
    return [FlattenedIndexKey(i) for i in range(n)]


def tree_flatten_with_path(tree, is_leaf=None):
    """([(key path, leaf), ...], treedef): each leaf with the keys that lead to it.

    >>> pairs, treedef = ember.tree.tree_flatten_with_path({"w": [1, 2]})
    >>> [(ember.tree.keystr(path), leaf) for path, leaf in pairs]
    [("['w'][0]", 1), ("['w'][1]", 2)]
    """
    out = []

    def rec(x, path):
        if isinstance(x, Tensor) or (is_leaf is not None and is_leaf(x)):
            out.append((path, x))
            return
        r = _flatten_one(x)
        if r is None:
            out.append((path, x))
            return
        kind, aux, ch = r
        for k, c in zip(_keys_of(x, kind, aux, len(ch)), ch):
            rec(c, path + (k,))
    try:
        rec(tree, ())
    except RecursionError:
        raise _too_deep("tree_flatten_with_path") from None
    return out, tree_structure(tree, is_leaf)


def tree_leaves_with_path(tree, is_leaf=None):
    """``[(key path, leaf), ...]`` (``tree_flatten_with_path`` without the treedef).

    >>> layer = ember.nn.Linear(2, 1)
    >>> [ember.tree.keystr(path) for path, _ in ember.tree.tree_leaves_with_path(layer)]
    ['.weight', '.bias']
    """
    return tree_flatten_with_path(tree, is_leaf)[0]


def tree_map_with_path(f, tree, *rest, is_leaf=None):
    """``f(path, leaf, *others)`` leafwise (``tree_map`` that also sees each leaf's path).

    >>> label = lambda path, x: ember.tree.keystr(path) + "=" + str(x)
    >>> ember.tree.tree_map_with_path(label, {"a": 1, "b": [2]})
    {'a': "['a']=1", 'b': ["['b'][0]=2"]}
    """
    pairs, td = tree_flatten_with_path(tree, is_leaf)
    others = _leaves_like(td, rest, is_leaf, "tree_map_with_path")
    return tree_unflatten(td, [f(p, x, *xs) for (p, x), *xs in zip(pairs, *others)])


def register_pytree_node_class(cls):
    """Class decorator: register ``cls`` by its methods ``x.tree_flatten() -> (children,
    aux)`` and classmethod ``cls.tree_unflatten(aux, children)``, as JAX's.

    >>> @ember.tree_util.register_pytree_node_class
    ... class Box:
    ...     def __init__(self, v):
    ...         self.v = v
    ...     def tree_flatten(self):
    ...         return (self.v,), None
    ...     @classmethod
    ...     def tree_unflatten(cls, aux, children):
    ...         return cls(*children)
    >>> ember.tree.tree_map(lambda x: x + 1, Box(1)).v
    2
    """
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


def register_pytree_with_keys_class(cls):
    """Class decorator: ``register_pytree_with_keys`` by the methods
    ``x.tree_flatten_with_keys() -> ([(key, child), ...], aux)`` and
    ``cls.tree_unflatten(aux, children)`` (and ``x.tree_flatten()`` if defined).

    >>> @ember.tree_util.register_pytree_with_keys_class
    ... class Pt:
    ...     def __init__(self, x):
    ...         self.x = x
    ...     def tree_flatten_with_keys(self):
    ...         return ((ember.tree.GetAttrKey("x"), self.x),), None
    ...     @classmethod
    ...     def tree_unflatten(cls, aux, children):
    ...         return cls(*children)
    >>> ember.tree.keystr(ember.tree.tree_leaves_with_path(Pt(3))[0][0])
    '.x'
    """
    flat = getattr(cls, "tree_flatten", None)
    register_pytree_with_keys(cls, lambda x: x.tree_flatten_with_keys(), cls.tree_unflatten,
                              None if flat is None else (lambda x: x.tree_flatten()))
    return cls


def register_static(cls):
    """Class decorator: instances of ``cls`` are pytree nodes without children (jit's cache
    compares them, so they must be hashable), as ``jax.tree_util.register_static``.

    >>> @ember.tree_util.register_static
    ... class Cfg:
    ...     pass
    >>> ember.tree.tree_leaves([Cfg(), 1])
    [1]
    """
    register_pytree_node(cls, lambda x: ((), x), lambda aux, _: aux)
    return cls


class Partial(functools.partial):
    """``functools.partial`` as a pytree: the bound arguments are its children, the function
    its static part, so it can pass through ``jit`` and other transforms as an argument
    (``jax.tree_util.Partial``).

    >>> add = ember.tree_util.Partial(lambda a, b: a + b, ember.tensor(1.))
    >>> ember.jit(lambda f, y: f(y))(add, ember.tensor(2.))
    tensor(3.)
    """

    # (functools.partial merges a Partial of a Partial into one: all its bound arguments are
    # children, where JAX keeps the inner one's arguments static)


register_pytree_node(
    Partial, lambda p: ((p.args, p.keywords), p.func),
    lambda func, ch: Partial(func, *ch[0], **ch[1]))


def treedef_is_leaf(treedef):
    """Whether ``treedef`` is a single leaf.

    >>> ember.tree_util.treedef_is_leaf(ember.tree.tree_structure(1.0))
    True
    """
    return treedef.kind is None


def treedef_children(treedef):
    """The structures of ``treedef``'s children.

    >>> ember.tree_util.treedef_children(ember.tree.tree_structure([1, (2, 3)]))
    [PyTreeDef(*), PyTreeDef((*, *))]
    """
    return list(treedef.children)


def treedef_tuple(treedefs):
    """The structure of a tuple whose children have these structures.

    >>> ember.tree_util.treedef_tuple([ember.tree.tree_structure(1), ember.tree.tree_structure([2])])
    PyTreeDef((*, [*]))
    """
    return PyTreeDef(tuple, None, tuple(treedefs))


def all_leaves(iterable, is_leaf=None):
    """Whether every element of ``iterable`` is a leaf.

    >>> ember.tree_util.all_leaves([1.0, ember.ones(2)]), ember.tree_util.all_leaves([[1.0]])
    (True, False)
    """
    return builtins.all(tree_structure(x, is_leaf).kind is None for x in iterable)


def _flatten_up_to(treedef, tree, op):
    """The subtrees of ``tree`` at the leaves of its prefix ``treedef``."""
    if treedef.kind is None:
        return [tree]
    r = _flatten_one(tree)
    if r is None or r[0] is not treedef.kind or len(r[2]) != len(treedef.children) or \
            _key_aux(r[1]) != treedef._k[1]:
        raise ValueError(f"{op}: the tree {tree!r} does not have the prefix structure "
                         f"{treedef!r}")
    out = []
    for c, d in zip(r[2], treedef.children):
        out += _flatten_up_to(d, c, op)
    return out


def tree_transpose(outer_treedef, inner_treedef, pytree_to_transpose):
    """Turn a tree of structure ``outer`` whose leaves are trees of structure ``inner`` into
    a tree of structure ``inner`` whose leaves are trees of structure ``outer``
    (``inner_treedef`` None: read from the first subtree).

    >>> t = [{"a": 1, "b": 2}, {"a": 3, "b": 4}]
    >>> ember.tree_util.tree_transpose(ember.tree.tree_structure([0, 0]),
    ...                                ember.tree.tree_structure({"a": 0, "b": 0}), t)
    {'a': [1, 3], 'b': [2, 4]}
    """
    subtrees = _flatten_up_to(outer_treedef, pytree_to_transpose, "tree_transpose")
    if inner_treedef is None:
        inner_treedef = tree_structure(subtrees[0]) if subtrees else tree_structure(None)
    rows = []
    for s in subtrees:
        leaves_, td = tree_flatten(s)
        if td != inner_treedef:
            raise TypeError(f"tree_transpose: a subtree has structure {td}, expected the inner "
                            f"structure {inner_treedef}")
        rows.append(leaves_)
    cols = [tree_unflatten(outer_treedef, list(c)) for c in zip(*rows)] if rows else \
        [tree_unflatten(outer_treedef, []) for _ in range(inner_treedef.num_leaves)]
    return tree_unflatten(inner_treedef, cols)


def tree_broadcast(prefix_tree, full_tree, is_leaf=None):
    """``prefix_tree`` with each leaf repeated over the subtree of ``full_tree`` at its place.

    >>> ember.tree_util.tree_broadcast([1, 2], [(0, 0), {"x": 0}])
    [(1, 1), {'x': 2}]
    """
    p_leaves, p_def = tree_flatten(prefix_tree, is_leaf)
    subtrees = _flatten_up_to(p_def, full_tree, "tree_broadcast")
    return tree_unflatten(p_def, [tree_map(lambda _, v=v: v, s, is_leaf=is_leaf)
                                  for v, s in zip(p_leaves, subtrees)])


__all__ = ["register_pytree_node", "register_pytree_with_keys", "register_dataclass",
           "register_pytree_node_class", "register_pytree_with_keys_class", "register_static",
           "Partial", "treedef_is_leaf", "treedef_children", "treedef_tuple", "all_leaves",
           "tree_transpose", "tree_broadcast",
           "PyTreeDef", "DictKey", "SequenceKey", "GetAttrKey", "FlattenedIndexKey", "keystr",
           "tree_flatten", "tree_unflatten", "tree_leaves", "tree_structure", "tree_map",
           "tree_all", "tree_reduce", "tree_flatten_with_path", "tree_leaves_with_path",
           "tree_map_with_path"]

# ``jax.tree``-style short names: ember.tree.map, ember.tree.leaves, ... (not star-exported)
map = tree_map  # noqa: A001
leaves = tree_leaves
structure = tree_structure
flatten = tree_flatten
unflatten = tree_unflatten
reduce = tree_reduce
all = tree_all  # noqa: A001
flatten_with_path = tree_flatten_with_path
leaves_with_path = tree_leaves_with_path
map_with_path = tree_map_with_path
transpose = tree_transpose
broadcast = tree_broadcast


Any_ = Any
