"""jvp and vmap on the primitive table: against finite differences and Python loops."""
import collections

import numpy as np
import pytest

import ember
from ember.transforms import jacfwd, jvp, vmap
from ember.tree import tree_flatten, tree_map, tree_unflatten, register_pytree_node

rng = np.random.default_rng(0)


def T(*shape):
    return ember.tensor(rng.standard_normal(shape))  # float64


FUNCS = {
    "elementwise": lambda x: (x.exp() * x.sin() + x.tanh() / (1 + x * x)).sigmoid(),
    "reduce": lambda x: (x * x).sum(1) + x.mean(0).sum(),
    "matmul": lambda x: (x @ x.T).relu() - x.abs().sum(),
    "shape": lambda x: x.reshape(-1).reshape(x.shape[1], x.shape[0]).T * x.permute(1, 0).T,
    "broadcast": lambda x: (x + x.sum(0, keepdim=True)) * x.sum(1, keepdim=True).abs(),
}


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_jvp_matches_finite_differences(name):
    f = FUNCS[name]
    x, v = T(3, 4), T(3, 4)
    p, t = jvp(f, (x,), (v,))
    np.testing.assert_allclose(p.numpy(), f(x).numpy(), rtol=1e-12)
    eps = 1e-6
    fd = (f(x + eps * v).numpy() - f(x - eps * v).numpy()) / (2 * eps)
    np.testing.assert_allclose(t.numpy(), fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_vmap_matches_loop(name):
    f = FUNCS[name]
    xs = T(5, 3, 4)
    out = vmap(f)(xs)
    loop = np.stack([f(ember.tensor(xs.numpy()[i])).numpy() for i in range(5)])
    np.testing.assert_allclose(out.numpy(), loop, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_vmap_of_jvp_and_jvp_of_vmap_agree(name):
    f = FUNCS[name]
    xs, vs = T(4, 3, 4), T(4, 3, 4)
    a = vmap(lambda x, v: jvp(f, (x,), (v,))[1])(xs, vs)
    b = jvp(vmap(f), (xs,), (vs,))[1]
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


def test_vmap_in_axes_out_axes_and_nesting():
    x = T(3, 4)
    out = vmap(lambda a, b: a * b, in_axes=(1, None), out_axes=1)(x, T(3))
    assert tuple(out.shape) == (3, 4)
    y = T(2, 3, 4)
    np.testing.assert_allclose(vmap(vmap(lambda a: (a * a).sum()))(y).numpy(),
                               (y.numpy() ** 2).sum(-1))
    # mapping over a dict pytree with a per-key in_axes prefix
    d = {"a": T(3, 2), "b": T(2)}
    r = vmap(lambda p: p["a"] + p["b"], in_axes=({"a": 0, "b": None},))(d)
    np.testing.assert_allclose(r.numpy(), d["a"].numpy() + d["b"].numpy())


def test_vmap_errors_are_clear():
    with pytest.raises(ValueError, match="inconsistent sizes along the mapped axes: a has 3, "
                                         "b has 4"):
        vmap(lambda a, b: a + b)(T(3, 2), T(4, 2))
    with pytest.raises(ValueError, match="in_axes"):
        vmap(lambda a, b: a + b, in_axes=(0, 0, 0))(T(3), T(3))
    with pytest.raises(ValueError, match=r"in_axes 2 is out of range for argument a with "
                                         r"shape \(3, 2\)"):
        vmap(lambda a: a, in_axes=2)(T(3, 2))
    with pytest.raises(ValueError, match=r"argument batch\['x'\], but it is a 0-d tensor"):
        vmap(lambda p, batch: p * batch["x"])(T(3), {"x": ember.tensor(1.0)})


def test_traced_value_cannot_be_used_as_python_bool():
    with pytest.raises(TypeError, match="traced"):
        vmap(lambda a: a * 2 if a.sum() > 0 else a)(T(3, 2))


def test_escaped_tracer_is_reported():
    leaked = []

    def f(a):
        leaked.append(a)
        return a * 2
    vmap(f)(T(3, 2))
    line = f.__code__.co_firstlineno
    with pytest.raises(RuntimeError, match=rf"created inside vmap\(f\) \(defined at "
                                           rf"test_jvp_vmap.py:{line}\) was used after that "
                                           rf"transform finished"):
        leaked[0] + 1
    for transform in (ember.jit, ember.grad):  # jit's and grad's wrappers name f too
        leaked.clear()
        transform(lambda a: f(a).sum())(T(3))
        with pytest.raises(RuntimeError, match=r"\(defined at test_jvp_vmap.py:\d+\)"):
            leaked[0] + 1


def test_jacfwd_matches_analytic():
    x = T(3)
    J = jacfwd(lambda z: z.exp() * 2)(x)
    np.testing.assert_allclose(J.numpy(), np.diag(2 * np.exp(x.numpy())), rtol=1e-12)
    A = T(2, 3)
    J = jacfwd(lambda z: A @ z)(x)
    np.testing.assert_allclose(J.numpy(), A.numpy(), rtol=1e-12)


def test_pytrees_roundtrip_and_map():
    P = collections.namedtuple("P", "w b")
    tree = {"layer": [P(1, 2), (3, None)], "x": 4}
    leaves, td = tree_flatten(tree)
    assert leaves == [1, 2, 3, 4]
    assert tree_unflatten(td, leaves) == tree
    assert tree_map(lambda a, b: a + b, tree, tree)["layer"][0] == P(2, 4)

    class Box:
        def __init__(self, v):
            self.v = v
    register_pytree_node(Box, lambda b: ([b.v], None), lambda aux, ch: Box(ch[0]))
    out = tree_map(lambda a: a * 10, [Box(1), Box(2)])
    assert [b.v for b in out] == [10, 20]
    with pytest.raises(ValueError, match="structures differ"):
        tree_map(lambda a, b: a, [1, 2], [1])


def test_jit_fast_flatten_and_unflatten_agree_with_the_treedef():
    """jit's per-call helpers: the structure key is equal exactly when the treedefs are, the
    leaves come in tree_flatten's order, and the compiled builder rebuilds the tree."""
    from ember.tree import flatten_with_key, unflattener

    class Box:
        def __init__(self, v, tag):
            self.v, self.tag = v, tag

        def __eq__(self, other):
            return isinstance(other, Box) and (self.v, self.tag) == (other.v, other.tag)
    register_pytree_node(Box, lambda b: ([b.v], b.tag), lambda aux, ch: Box(ch[0], aux))
    P = collections.namedtuple("P", "w b")
    t = ember.ones(2)
    trees = [{"b": [P(1, t), (3, None)], "a": Box(t, "x")}, ({"z": 1, "y": [2]},),
             {"a": Box(t, "x"), "b": [P(1, t), (3, None)]},  # same as the first, other order
             {"b": [P(1, t), (3, None)], "a": Box(t, "y")},  # another aux: another structure
             [t, [t, (t,)]], [t, [t, [t]]]]
    keys = []
    for tree in trees:
        leaves, key = flatten_with_key(tree)
        ref_leaves, td = tree_flatten(tree)
        assert [id(v) for v in leaves] == [id(v) for v in ref_leaves]
        assert unflattener(td)(leaves) == tree_unflatten(td, leaves)
        keys.append((key, td))
    for k1, td1 in keys:
        for k2, td2 in keys:
            assert (k1 == k2) == (td1 == td2)
    assert keys[0][0] == keys[2][0] and keys[0][0] != keys[3][0]
