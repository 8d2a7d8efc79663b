"""Named-axis collectives (ember.lax.psum, ...) under vmap(axis_name=): values, JVPs, VJPs,
nested axes and compositions with jit, compared with JAX's."""
import numpy as np
import pytest

import ember
from ember import lax

jax = pytest.importorskip("jax")
jnp = jax.numpy
jlax = jax.lax

rng = np.random.default_rng(0)
X = rng.standard_normal((4, 3)).astype(np.float32)
X4 = rng.standard_normal((4, 4, 2)).astype(np.float32)

# (name, function of (lax module, value), input) -- run under vmap(axis_name="i")
CASES = [
    ("psum", lambda L, v: L.psum(v, "i"), X),
    ("pmean", lambda L, v: L.pmean(v * v, "i"), X),
    ("pmax", lambda L, v: L.pmax(v, "i"), X),
    ("pmin", lambda L, v: L.pmin(v, "i"), X),
    ("psum_normalised", lambda L, v: v / L.psum(v * v, "i"), X),
    ("psum_const", lambda L, v: v * L.psum(1.0, "i"), X),
    ("all_gather", lambda L, v: L.all_gather(v, "i"), X),
    ("all_gather_axis1", lambda L, v: L.all_gather(v, "i", axis=1), X),
    ("all_gather_tiled", lambda L, v: L.all_gather(v, "i", tiled=True), X),
    ("psum_scatter", lambda L, v: L.psum_scatter(v, "i"), X4),
    ("psum_scatter_dim1", lambda L, v: L.psum_scatter(v.T, "i", scatter_dimension=1), X4),
    ("psum_scatter_tiled", lambda L, v: L.psum_scatter(v.reshape(-1), "i", tiled=True), X4),
    ("ppermute_cycle", lambda L, v: L.ppermute(v, "i", [(0, 1), (1, 2), (2, 3), (3, 0)]), X),
    ("axis_index", lambda L, v: v * L.axis_index("i"), X),
]


def _ours(fn):
    return lambda v: fn(lax, v)


def _theirs(fn):
    return lambda v: fn(jlax, v)


def _close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


@pytest.mark.parametrize("name,fn,x", CASES, ids=[c[0] for c in CASES])
def test_value_matches_jax(name, fn, x):
    ours = ember.vmap(_ours(fn), axis_name="i")(ember.tensor(x))
    theirs = jax.vmap(_theirs(fn), axis_name="i")(jnp.asarray(x))
    assert tuple(ours.shape) == theirs.shape
    _close(ours, theirs)


DIFF = [c for c in CASES if c[0] not in ("pmax", "pmin")]  # JAX does not differentiate these


@pytest.mark.parametrize("name,fn,x", DIFF, ids=[c[0] for c in DIFF])
def test_grad_inside_vmap_matches_jax(name, fn, x):
    # grad of each member's scalar loss, the collective inside: JAX's transpose rules
    w = rng.standard_normal(np.asarray(jax.eval_shape(
        lambda v: jax.vmap(_theirs(fn), axis_name="i")(v), x).shape[1:])).astype(np.float32)
    ours = ember.vmap(ember.grad(lambda v: (_ours(fn)(v) * ember.tensor(w)).sum()),
                      axis_name="i")(ember.tensor(x))
    theirs = jax.vmap(jax.grad(lambda v: (_theirs(fn)(v) * w).sum()), axis_name="i")(x)
    _close(ours, theirs)


@pytest.mark.parametrize("name,fn,x", DIFF, ids=[c[0] for c in DIFF])
def test_grad_outside_vmap_matches_jax(name, fn, x):
    shape = jax.eval_shape(lambda v: jax.vmap(_theirs(fn), axis_name="i")(v), x).shape
    w = rng.standard_normal(shape).astype(np.float32)
    ours = ember.grad(lambda v: (ember.vmap(_ours(fn), axis_name="i")(v)
                                 * ember.tensor(w)).sum())(ember.tensor(x))
    theirs = jax.grad(lambda v: (jax.vmap(_theirs(fn), axis_name="i")(v) * w).sum())(x)
    _close(ours, theirs)


@pytest.mark.parametrize("name,fn,x", DIFF, ids=[c[0] for c in DIFF])
def test_jvp_inside_vmap_matches_jax(name, fn, x):
    t = rng.standard_normal(x.shape).astype(np.float32)
    ours = ember.vmap(lambda v, tv: ember.jvp(_ours(fn), (v,), (tv,))[1],
                      axis_name="i")(ember.tensor(x), ember.tensor(t))
    theirs = jax.vmap(lambda v, tv: jax.jvp(_theirs(fn), (v,), (tv,))[1],
                      axis_name="i")(x, t)
    _close(ours, theirs)


@pytest.mark.parametrize("name,fn,x", CASES, ids=[c[0] for c in CASES])
def test_jit_inside_and_outside_vmap(name, fn, x):
    expect = ember.vmap(_ours(fn), axis_name="i")(ember.tensor(x))
    inside = ember.vmap(ember.jit(_ours(fn)), axis_name="i")(ember.tensor(x))
    outside = ember.jit(ember.vmap(_ours(fn), axis_name="i"))(ember.tensor(x))
    _close(inside, expect, 0)
    _close(outside, expect, 0)


@pytest.mark.parametrize("kind", ["max", "min"])
def test_pmax_pmin_derivative_goes_to_the_extreme_member_split_between_ties(kind):
    x = ember.tensor([1., 5., 5., 2.])
    op = lax.pmax if kind == "max" else lax.pmin
    g = ember.grad(lambda v: ember.vmap(lambda u: op(u, "i"), axis_name="i")(v).sum())(x)
    want = [0, 2, 2, 0] if kind == "max" else [4, 0, 0, 0]
    np.testing.assert_allclose(g.numpy(), want)
    # forward mode agrees with reverse mode
    t = ember.tensor([1., 2., 3., 4.])
    _, jt = ember.jvp(lambda v: ember.vmap(lambda u: op(u, "i"), axis_name="i")(v), (x,), (t,))
    np.testing.assert_allclose(jt.numpy(), [2.5] * 4 if kind == "max" else [1.0] * 4)


def test_nested_vmaps_with_two_names_and_tuple_names_match_jax():
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)

    def f(L):
        def inner(v):
            return (L.psum(v, "j") + 10 * L.psum(v, "i") + 100 * L.psum(v, ("i", "j"))
                    + L.pmean(v, ("i", "j")) * L.axis_index(("i", "j"))
                    + L.pmax(v, ("j", "i")) + L.axis_index("i") - L.axis_index("j"))
        return inner

    ours = ember.vmap(ember.vmap(f(lax), axis_name="j"), axis_name="i")(ember.tensor(x))
    theirs = jax.vmap(jax.vmap(f(jlax), axis_name="j"), axis_name="i")(x)
    _close(ours, theirs)
    g = lambda L, vm, gr: gr(lambda v: (vm(vm(lambda u: u * L.psum(u, "i") / L.psum(  # noqa
        u * u, "j"), axis_name="j"), axis_name="i")(v) ** 2).sum())
    _close(g(lax, ember.vmap, ember.grad)(ember.tensor(x)), g(jlax, jax.vmap, jax.grad)(x))


def test_inner_vmap_without_the_name_carries_its_batch_through():
    # psum over the outer axis of a value batched by an unnamed inner vmap
    f = lambda L, vm: vm(lambda v: vm(lambda u: L.all_gather(u, "i") + L.psum(  # noqa
        u, "i")[None, :] * L.psum_scatter(u, "i", tiled=True).sum())(v), axis_name="i")
    x = rng.standard_normal((3, 5, 6)).astype(np.float32)
    _close(f(lax, ember.vmap)(ember.tensor(x)), f(jlax, jax.vmap)(x))


def test_pytrees_and_python_scalars():
    out = ember.vmap(lambda v: lax.psum({"a": v, "b": (v * 2, 1.0)}, "i"),
                     axis_name="i")(ember.tensor([1., 2.]))
    np.testing.assert_allclose(out["a"].numpy(), [3., 3.])
    np.testing.assert_allclose(out["b"][0].numpy(), [6., 6.])
    np.testing.assert_allclose(out["b"][1].numpy(), [2., 2.])


def test_integer_values_keep_their_dtype():
    x = ember.tensor([1, 2, 3], dtype=ember.int32)
    out = ember.vmap(lambda v: lax.psum(v, "i") + lax.pmax(v, "i"), axis_name="i")(x)
    assert out.dtype == ember.int32
    assert out.tolist() == [9, 9, 9]
    assert ember.vmap(lambda v: lax.axis_index("i"), axis_name="i")(x).dtype == ember.int32


def test_partial_permutation_sends_zeros_to_members_nobody_sends_to():
    out = ember.vmap(lambda v: lax.ppermute(v, "i", [(0, 1), (1, 2)]), axis_name="i")(
        ember.tensor([1., 2., 3., 4.]))
    assert out.tolist() == [0., 1., 2., 0.]
    g = ember.grad(lambda x: (ember.vmap(lambda v: lax.ppermute(v, "i", [(0, 1), (1, 2)]),
                                         axis_name="i")(x) * ember.arange(4.)).sum())(
        ember.ones(4))
    assert g.tolist() == [1., 2., 0., 0.]


def test_collective_outside_its_axis_names_the_axis():
    with pytest.raises(NameError, match="psum: unbound axis name 'i'"):
        lax.psum(ember.ones(2), "i")
    with pytest.raises(NameError, match="all_gather: unbound axis name 'k'.*'j'"):
        ember.vmap(lambda v: lax.all_gather(v, "k"), axis_name="j")(ember.ones(2))
    with pytest.raises(NameError, match="axis_index: unbound axis name 'i'"):
        ember.vmap(lambda v: lax.axis_index("i"))(ember.ones(2))
    # the name is gone once its vmap returns
    ember.vmap(lambda v: lax.psum(v, "i"), axis_name="i")(ember.ones(2))
    with pytest.raises(NameError):
        lax.pmean(ember.ones(2), "i")


def test_bad_arguments_say_what_to_fix():
    with pytest.raises(ValueError, match="psum_scatter: dim 0 .*size 3.*axis size 2"):
        ember.vmap(lambda v: lax.psum_scatter(v, "i"), axis_name="i")(ember.ones(2, 3))
    with pytest.raises(ValueError, match="ppermute: pairs .*out of range.*size 2"):
        ember.vmap(lambda v: lax.ppermute(v, "i", [(0, 2)]), axis_name="i")(ember.ones(2))
    with pytest.raises(ValueError, match="destination indices \\[1\\]"):
        ember.vmap(lambda v: lax.ppermute(v, "i", [(0, 1), (1, 1)]), axis_name="i")(
            ember.ones(2))
    with pytest.raises(ValueError, match="all_gather: axis=3 is out of range"):
        ember.vmap(lambda v: lax.all_gather(v, "i", axis=3), axis_name="i")(ember.ones(2, 3))
    with pytest.raises(NotImplementedError, match="axis_index_groups"):
        ember.vmap(lambda v: lax.psum(v, "i", axis_index_groups=[[0], [1]]),
                   axis_name="i")(ember.ones(2))


def test_collectives_in_jit_are_not_folded_and_the_graph_names_them():
    # a constant operand: folding it at compile time would evaluate the collective unmapped
    f = ember.jit(lambda v: v + lax.psum(ember.tensor(2.0), "i"))
    out = ember.vmap(f, axis_name="i")(ember.zeros(3))
    assert out.tolist() == [6., 6., 6.]
    graphs = []

    def f(v):
        graphs.append(str(ember.make_graph(lambda u: lax.psum(u, "i"))(v)))
        return v
    ember.vmap(f, axis_name="i")(ember.ones(2))
    assert "psum[axis_name='i']" in graphs[0]


def test_eager_collectives_on_a_world_of_one_process():
    # outside vmap a named axis can be a process group's (one rank per member): each
    # collective runs on the communicator; with one process every member is this one
    from ember.core.state import AxisFrame, bind_axis
    from ember.distributed.comm import LocalCommunicator
    x = ember.tensor([[1., 2.]], requires_grad=True)
    with bind_axis(AxisFrame("i", 1, comm=LocalCommunicator())):
        assert lax.psum(x, "i").tolist() == [[1., 2.]]
        assert lax.pmean(x, "i").tolist() == [[1., 2.]]
        assert lax.pmax(x, "i").tolist() == [[1., 2.]]
        assert lax.all_gather(x, "i", axis=1).tolist() == [[[1., 2.]]]
        assert lax.all_gather(x, "i", tiled=True).tolist() == [[1., 2.]]
        assert lax.psum_scatter(x, "i").tolist() == [1., 2.]
        assert lax.psum_scatter(x, "i", tiled=True).tolist() == [[1., 2.]]
        assert lax.ppermute(x, "i", [(0, 0)]).tolist() == [[1., 2.]]
        assert lax.ppermute(x, "i", []).tolist() == [[0., 0.]]
        assert lax.axis_index("i").item() == 0
        (lax.psum(x, "i") * 3).sum().backward()
    assert x.grad.tolist() == [[3., 3.]]


def test_jit_inside_vmaps_of_different_sizes_traces_once_per_size():
    h = ember.jit(lambda v: lax.all_gather(v, "i").reshape(-1))
    assert tuple(ember.vmap(h, axis_name="i")(ember.ones(2, 3)).shape) == (2, 6)
    assert tuple(ember.vmap(h, axis_name="i")(ember.ones(4, 3)).shape) == (4, 12)
    assert tuple(ember.vmap(h, axis_name="i")(ember.ones(2, 3)).shape) == (2, 6)
    assert len(h.cache) == 2


CF = {
    "scan": lambda M, L, v: M.scan(lambda c, e: (c + L.psum(e, "i") * c,
                                                 L.pmean(e * c, "i")), v[0], v)[1],
    "fori_loop": lambda M, L, v: M.fori_loop(0, 3, lambda k, c: c + L.pmean(c, "i"), v),
}


@pytest.mark.parametrize("name", sorted(CF))
def test_collectives_inside_control_flow_under_vmap_match_jax(name):
    # the body is re-vectorised by the construct's batching rule: its vmap binds the name too
    f = CF[name]
    x = rng.standard_normal((3, 4)).astype(np.float32)
    ours = ember.vmap(lambda v: f(lax, lax, v), axis_name="i")
    theirs = jax.vmap(lambda v: f(jlax, jlax, v), axis_name="i")
    _close(ours(ember.tensor(x)), theirs(x))
    _close(ember.grad(lambda x: (ours(x) ** 2).sum())(ember.tensor(x)),
           jax.grad(lambda x: (theirs(x) ** 2).sum())(x), 1e-4)


def test_collectives_inside_cond_custom_vjp_and_checkpoint_under_vmap():
    x = rng.standard_normal((3, 4)).astype(np.float32)
    f = lambda v: ember.cond(v.sum() > 0, lambda a: lax.psum(a, "i"),  # noqa: E731
                             lambda a: a * lax.axis_index("i"), v)
    out = ember.vmap(f, axis_name="i")(ember.tensor(x))
    p = (x.sum(1) > 0).astype(np.float32)[:, None]
    idx = np.arange(3, dtype=np.float32)[:, None]
    want = p * x.sum(0, keepdims=True) + (1 - p) * x * idx
    _close(out, want)
    # the exact gradient of sum(out ** 2) (p fixed)
    g = ember.grad(lambda x: (ember.vmap(f, axis_name="i")(x) ** 2).sum())(ember.tensor(x))
    _close(g, (2 * want * p).sum(0, keepdims=True) + 2 * want * (1 - p) * idx)
    cv = ember.custom_vjp(lambda v: lax.psum(v, "i") * 2)
    cv.defvjp(lambda v: (lax.psum(v, "i") * 2, None), lambda r, g: (lax.psum(g, "i") * 2,))
    _close(ember.vmap(cv, axis_name="i")(ember.tensor(x)), np.tile(x.sum(0) * 2, (3, 1)))
    ck = ember.checkpoint(lambda v: lax.psum(v.sin(), "i"))
    _close(ember.vmap(ck, axis_name="i")(ember.tensor(x)), np.tile(np.sin(x).sum(0), (3, 1)))
