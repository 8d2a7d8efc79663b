"""Key paths, reductions and the jax.tree / jax.tree_util names."""
import collections
import dataclasses

import pytest

import ember
from ember import tree

P = collections.namedtuple("P", "a b")


@ember.register_dataclass
@dataclasses.dataclass
class Layer:
    w: object
    b: object


class Box:
    def __init__(self, items):
        self.items = items


ember.register_pytree_node(Box, lambda x: (x.items, None), lambda aux, ch: Box(list(ch)))


def test_leaves_with_path_name_every_container_kind():
    t = {"x": [1, (2, None)], "p": P(3, 4), "l": Layer(5, 6), "box": Box([7, 8])}
    got = [(tree.keystr(p), v) for p, v in ember.tree_leaves_with_path(t)]
    assert got == [("['box'][<flat index 0>]", 7), ("['box'][<flat index 1>]", 8),
                   ("['l'].w", 5), ("['l'].b", 6), ("['p'].a", 3), ("['p'].b", 4),
                   ("['x'][0]", 1), ("['x'][1][0]", 2)]
    assert [v for _, v in ember.tree_leaves_with_path(t)] == ember.tree_leaves(t)
    path = ember.tree_leaves_with_path(t)[2][0]
    assert path == (tree.DictKey("l"), tree.GetAttrKey("w"))


def test_module_paths_are_its_state_dict_names():
    m = ember.nn.Sequential(ember.nn.Linear(2, 3), ember.nn.BatchNorm1d(3))
    names = [tree.keystr(p)[1:] for p, _ in ember.tree_leaves_with_path(m)]
    assert names == list(m.state_dict().keys())


def test_map_with_path_and_structure_mismatch():
    t = {"a": 1, "b": [2, 3]}
    out = ember.tree_map_with_path(lambda p, x, y: (tree.keystr(p), x + y), t,
                                   {"a": 10, "b": [20, 30]})
    assert out == {"a": ("['a']", 11), "b": [("['b'][0]", 22), ("['b'][1]", 33)]}
    with pytest.raises(ValueError, match="tree_map_with_path: structures differ"):
        ember.tree_map_with_path(lambda p, x, y: x, t, {"a": 1, "b": [2]})


def test_reduce_all_and_the_short_names():
    t = [1, {"a": 2, "b": (3, 4)}]
    assert ember.tree_reduce(lambda a, b: a + b, t) == 10
    assert tree.reduce(max, t, 100) == 100
    assert tree.reduce(lambda a, b: a * b, [], 7) == 7
    with pytest.raises(TypeError):
        tree.reduce(max, [])  # no leaves and no initializer, as functools.reduce
    assert ember.tree_all([1, (True, 2)]) and not tree.all([1, (0,)])
    assert tree.map(lambda x: x * 2, t) == ember.tree_map(lambda x: x * 2, t)
    leaves, td = tree.flatten(t)
    assert tree.unflatten(td, leaves) == t and tree.structure(t) == td
    assert tree.leaves(t) == [1, 2, 3, 4]
    assert ember.tree_util.tree_map is ember.tree_map
    assert "map" not in tree.__all__  # the short names don't shadow builtins on star-import


def test_too_deep_or_self_containing_trees_are_a_clear_error():
    from ember import tree
    deep = 1
    for _ in range(100_000):
        deep = [deep]
    loop = []
    loop.append(loop)
    for t in (deep, loop, {"a": deep}):
        for f in (tree.tree_leaves, tree.tree_structure, tree.tree_flatten_with_path,
                  lambda t: tree.tree_map(lambda x: x, t), tree.flatten_with_key):
            with pytest.raises(ValueError, match=r"the pytree is nested too deeply to walk "
                                                 r"\(deeper than Python's recursion limit"):
                f(t)
    with pytest.raises(ValueError, match="nested too deeply"):
        ember.jit(lambda t: t)(deep)
    # a moderately deep tree still works
    mid = ember.ones(2)
    for _ in range(200):
        mid = {"x": [mid]}
    leaves, td = tree.tree_flatten(mid)
    assert len(leaves) == 1 and tree.tree_unflatten(td, leaves)["x"][0]["x"][0] is not None


def test_unflatten_keeps_each_dicts_insertion_order():
    # leaves in sorted-key order (JAX); a rebuilt dict in its own order (torch.func users zip
    # results against named_parameters())
    tree = {"w2": 1, "b1": {"z": 2, "a": 3}, "a0": 4}
    leaves, td = ember.tree.tree_flatten(tree)
    assert leaves == [4, 3, 2, 1]
    back = ember.tree.tree_unflatten(td, leaves)
    assert list(back) == ["w2", "b1", "a0"] and list(back["b1"]) == ["z", "a"]
    assert back == tree
    assert td == ember.tree.tree_structure({"a0": 0, "b1": {"a": 0, "z": 0}, "w2": 0})
    assert list(ember.tree.tree_map(lambda v: v, tree)) == ["w2", "b1", "a0"]
    assert list(ember.tree.unflattener(td)(leaves)) == ["w2", "b1", "a0"]
    g = ember.grad(lambda p: sum(v.sum() for v in p.values()))(
        {"z": ember.ones(2), "a": ember.ones(3)})
    assert list(g) == ["z", "a"]


def test_unflattener_applies_leaf_functions_inline():
    tree = {"b": (1, [2, None]), "a": 3}
    leaves, td = ember.tree.tree_flatten(tree)
    built = ember.tree.unflattener(td, str, lambda v: v * 10)(leaves)
    assert built == {"b": ("10", ["20", None]), "a": "30"} and list(built) == ["b", "a"]
    assert ember.tree.unflattener(td)(leaves) == tree  # (a separate builder per leaf_fns)


def test_custom_node_with_unhashable_aux_data_works_under_jit():
    # JAX compares a node's aux data by ==, so a dict of static values is fine (JAX's
    # "Common gotchas" registers a class that way and jits a method of it)
    class Scaled:
        def __init__(self, x, mul):
            self.x, self.mul = x, mul

        @ember.jit
        def calc(self, y):
            return self.x * y if self.mul else y
    ember.tree.register_pytree_node(Scaled, lambda s: ((s.x,), {"mul": s.mul}),
                                    lambda aux, ch: Scaled(*ch, **aux))
    a, b = ember.tree.tree_structure(Scaled(1., True)), ember.tree.tree_structure(Scaled(2., True))
    assert a == b and hash(a) == hash(b)
    assert a != ember.tree.tree_structure(Scaled(1., False))
    assert Scaled(ember.tensor(2.), True).calc(ember.tensor(3.)).item() == 6.
    assert Scaled(ember.tensor(2.), False).calc(ember.tensor(3.)).item() == 3.


def test_jax_tree_util_names_match_jax():
    jtu = pytest.importorskip("jax.tree_util")
    import jax
    etu = ember.tree_util
    t = [{"a": 1, "b": 2}, {"a": 3, "b": 4}]
    for outer, inner in ((etu.tree_structure([0, 0]), etu.tree_structure({"a": 0, "b": 0})),
                         (etu.tree_structure([0, 0]), None)):
        got = etu.tree_transpose(outer, inner, t)
        assert got == jtu.tree_transpose(jtu.tree_structure([0, 0]),
                                         jtu.tree_structure({"a": 0, "b": 0}), t)
    assert ember.tree.transpose is etu.tree_transpose
    assert etu.tree_broadcast([1, 2], [(0, 0), {"x": 0}]) == \
        jax.tree.broadcast([1, 2], [(0, 0), {"x": 0}])
    with pytest.raises(ValueError, match="prefix structure"):
        etu.tree_broadcast([1, 2], [0])
    assert etu.all_leaves([1.0, ember.ones(2)]) and not etu.all_leaves([[1.0]])
    td = etu.tree_structure([1, (2, 3)])
    assert [repr(c) for c in etu.treedef_children(td)] == ["PyTreeDef(*)", "PyTreeDef((*, *))"]
    assert etu.treedef_is_leaf(etu.tree_structure(1.0)) and not etu.treedef_is_leaf(td)
    assert etu.treedef_tuple(etu.treedef_children(td)) == etu.tree_structure((1, (2, 3)))


def test_pytree_classes_and_partial_pass_through_transforms():
    @ember.tree_util.register_pytree_node_class
    class Box:
        def __init__(self, v, scale):
            self.v, self.scale = v, scale

        def tree_flatten(self):
            return (self.v,), self.scale

        @classmethod
        def tree_unflatten(cls, aux, children):
            return cls(children[0], aux)
    assert ember.jit(lambda b: b.v * b.scale)(Box(ember.tensor(2.), 3.)).item() == 6.
    g = ember.grad(lambda b: (b.v ** 2).sum())(Box(ember.tensor([1., 2.]), 1.))
    assert isinstance(g, Box) and g.v.tolist() == [2., 4.]

    @ember.tree_util.register_static
    class Cfg:
        def __init__(self, k):
            self.k = k

        def __hash__(self):
            return hash(self.k)

        def __eq__(self, other):
            return isinstance(other, Cfg) and other.k == self.k
    assert ember.tree.tree_leaves([Cfg(2), 1]) == [1]
    assert ember.jit(lambda c, x: x * c.k)(Cfg(3), ember.tensor(2.)).item() == 6.

    add = ember.tree_util.Partial(lambda a, b: a * b, ember.tensor(2.))
    assert ember.tree.tree_leaves(add)[0].item() == 2.
    assert ember.jit(lambda f, y: f(y))(add, ember.tensor(3.)).item() == 6.


def test_register_dataclass_fields_and_static_metadata():
    import dataclasses
    import functools

    @functools.partial(ember.tree_util.register_dataclass, data_fields=["a", "b"],
                       meta_fields=["name"])
    @dataclasses.dataclass
    class Box:
        name: str
        a: object
        b: object

    leaves, td = ember.tree.flatten(Box("apple", 5.3, ember.zeros(2)))
    assert leaves[0] == 5.3 and len(leaves) == 2
    back = ember.tree.map(lambda v: v * 2, Box("x", 1.0, 2.0))
    assert (back.name, back.a, back.b) == ("x", 2.0, 4.0)
    assert ember.tree.structure(Box("p", 1, 2)) != ember.tree.structure(Box("q", 1, 2))

    class Plain:  # not a dataclass: the constructor takes the fields as keywords
        def __init__(self, w, tag):
            self.w, self.tag = w, tag
    ember.tree_util.register_dataclass(Plain, data_fields=["w"], meta_fields=["tag"])
    assert ember.tree.leaves(Plain(3.0, "t")) == [3.0]
    assert ember.tree.map(lambda v: v + 1, Plain(3.0, "t")).tag == "t"
    paths = ember.tree_util.tree_flatten_with_path(Plain(3.0, "t"))[0]
    assert str(paths[0][0][0]) == ".w"

    @ember.tree_util.register_dataclass
    @dataclasses.dataclass
    class Auto:
        x: object
        n: int = dataclasses.field(default=2, metadata=dict(static=True))
    assert ember.tree.leaves(Auto(1.0, 3)) == [1.0]
    assert ember.jit(lambda a: a.x * a.n)(Auto(ember.tensor(2.0), 3)).item() == 6.0

    with pytest.raises(TypeError, match="give both data_fields and meta_fields"):
        ember.tree_util.register_dataclass(Plain, data_fields=["w"])
    with pytest.raises(TypeError, match="is not a dataclass"):
        ember.tree_util.register_dataclass(Plain)

    @dataclasses.dataclass
    class NoInit:
        x: object
        y: object = dataclasses.field(init=False, default=0)
    with pytest.raises(ValueError, match=r"\['y'\] are not constructor arguments"):
        ember.tree_util.register_dataclass(NoInit)


def test_register_dataclass_matches_jax():
    jax = pytest.importorskip("jax")
    import dataclasses

    def make(mod):
        @mod.tree_util.register_dataclass
        @dataclasses.dataclass
        class P:
            w: object
            b: object
            act: str = dataclasses.field(default="relu", metadata=dict(static=True))
        return P
    PE, PJ = make(ember), make(jax)
    assert len(ember.tree.leaves(PE(1.0, 2.0))) == len(jax.tree.leaves(PJ(1.0, 2.0))) == 2
    assert [ember.tree_util.keystr(k)
            for k, _ in ember.tree_util.tree_flatten_with_path(PE(1., 2.))[0]] == \
        [jax.tree_util.keystr(k) for k, _ in jax.tree_util.tree_flatten_with_path(PJ(1., 2.))[0]]
