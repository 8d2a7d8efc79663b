"""jax.checkpoint's saving policies, checkpoint_name and print_saved_residuals: what is kept
changes, the gradients do not; checked against JAX itself when it is installed."""
import contextlib
import io

import numpy as np
import pytest

import ember
import ember.numpy as jnp
from ember import grad, jit, vmap
from ember.ad_checkpoint import checkpoint_name, print_saved_residuals, saved_residuals
from ember.core import primitive as P

cp = ember.checkpoint_policies


def g(W, x):
    y = jnp.dot(W, x)
    return jnp.sin(y)


def f_named(W1, W2, W3, x):
    x = g(W1, x)
    x = checkpoint_name(x, "a")
    x = g(W2, x)
    x = checkpoint_name(x, "b")
    return g(W3, x)


def _weights(np_mod=None):
    rng = np.random.default_rng(0)
    return [rng.normal(size=s).astype(np.float32) for s in [(5, 4), (6, 5), (7, 6), (4, 3)]]


POLICIES = {
    "none": None,
    "nothing": cp.nothing_saveable,
    "everything": cp.everything_saveable,
    "dots": cp.dots_saveable,
    "checkpoint_dots": cp.checkpoint_dots,
    "dots_no_batch": cp.dots_with_no_batch_dims_saveable,
    "only_a": cp.save_only_these_names("a"),
    "all_but_a": cp.save_any_names_but_these("a"),
    "both": cp.save_from_both_policies(cp.save_only_these_names("a"),
                                       cp.save_only_these_names("b")),
}


def _printed(f, *args):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        print_saved_residuals(f, *args)
    return buf.getvalue().splitlines()


@contextlib.contextmanager
def count_calls(name):
    """Counts eager runs of primitive ``name``'s kernel."""
    prim = P.registry[name]
    orig = prim.impl
    n = [0]

    def spy(*a, **k):
        n[0] += 1
        return orig(*a, **k)
    prim.impl = spy
    try:
        yield n
    finally:
        prim.impl = orig


def _grads(fun, ws):
    return grad(lambda *a: fun(*a).sum(), argnums=(0, 1, 2, 3))(*ws)


@pytest.mark.parametrize("pol", list(POLICIES))
def test_gradients_equal_the_plain_ones_under_every_path(pol):
    ws = [jnp.asarray(w) for w in _weights()]
    ref = _grads(f_named, ws)
    h = ember.checkpoint(f_named, policy=POLICIES[pol])
    outs = {"grad": _grads(h, ws), "jit(grad)": jit(lambda *a: _grads(h, a))(*ws)}
    ts = [w.detach().requires_grad_() for w in ws]
    h(*ts).sum().backward()
    outs["eager backward"] = [t.grad for t in ts]
    jf = jit(h)
    ts = [w.detach().requires_grad_() for w in ws]
    jf(*ts).sum().backward()  # jit's own forward/backward split
    outs["jit + backward"] = [t.grad for t in ts]
    for name, got in outs.items():
        for a, b in zip(got, ref):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=f"{pol} {name}")


@pytest.mark.parametrize("pol", ["nothing", "dots", "only_a", "everything"])
def test_higher_order_and_vmap_of_grad(pol):
    rng = np.random.default_rng(1)
    W = jnp.asarray(rng.normal(size=(3, 3)))
    xs = jnp.asarray(rng.normal(size=(4, 3)))

    def block(W, x):
        h = checkpoint_name(jnp.tanh(W @ x), "a")
        return jnp.sin(W @ h).sum()
    h = ember.checkpoint(block, policy=POLICIES[pol])
    np.testing.assert_allclose(ember.hessian(lambda x: h(W, x))(xs[0]).numpy(),
                               ember.hessian(lambda x: block(W, x))(xs[0]).numpy(),
                               rtol=1e-10)
    per_ex = vmap(grad(h), in_axes=(None, 0))(W, xs)
    ref = vmap(grad(block), in_axes=(None, 0))(W, xs)
    np.testing.assert_allclose(per_ex.numpy(), ref.numpy(), rtol=1e-10)
    np.testing.assert_allclose(grad(lambda w: vmap(lambda x: h(w, x))(xs).sum())(W).numpy(),
                               grad(lambda w: vmap(lambda x: block(w, x))(xs).sum())(W).numpy(),
                               rtol=1e-10)


@pytest.mark.parametrize("pol,saved,sin_recomputed", [
    ("none", 0, 2), ("nothing", 0, 2), ("dots", 3, 2), ("only_a", 1, 1),
    ("both", 2, 0), ("everything", 5, 0)])
def test_the_policy_changes_what_is_saved_and_recomputed(pol, saved, sin_recomputed):
    ws = [jnp.asarray(w).requires_grad_() for w in _weights()]
    h = ember.checkpoint(f_named, policy=POLICIES[pol])
    n_inside = len(saved_residuals(h, *ws)) - 4  # less the four arguments
    assert n_inside == saved
    with count_calls("sin") as n:
        out = h(*ws).sum()
        assert n[0] == 3
        out.backward()
    # sin's output feeds the next dot's VJP; without a policy (JAX's nothing_saveable) the
    # backward reruns only what the VJP rules read: the last sin's output is not read
    assert n[0] - 3 == sin_recomputed
    with count_calls("sin") as n:  # the same under ember.grad
        _grads(h, ws)
    assert n[0] - 3 == sin_recomputed


def test_saved_values_are_what_the_policy_names():
    ws = [jnp.asarray(w) for w in _weights()]
    lines = _printed(ember.checkpoint(f_named, policy=cp.save_only_these_names("a")), *ws)
    assert lines[:4] == ["f32[5,4] from the argument W1", "f32[6,5] from the argument W2",
                         "f32[7,6] from the argument W3", "f32[4,3] from the argument x"]
    assert len(lines) == 5 and lines[4].startswith("f32[5,3] named 'a' from ")
    assert lines[4].endswith("(f_named)") and __file__ in lines[4]
    lines = _printed(ember.checkpoint(f_named, policy=cp.dots_saveable), *ws)
    assert [ln.split(" from ")[0] for ln in lines[4:]] == [
        "f32[5,3] output of matmul", "f32[6,3] output of matmul", "f32[7,3] output of matmul"]
    assert _printed(ember.checkpoint(f_named), *ws) == lines[:4]


def test_dots_with_no_batch_dims():
    W = jnp.ones((2, 3, 3))

    def f(W, x):
        a = jnp.einsum("bij,bjk->bik", W, x)      # a batch dim: recomputed
        b = jnp.einsum("bij,jk->bik", a, W[0])    # none: saved
        return jnp.sin(b).sum()
    res = saved_residuals(ember.checkpoint(f, policy=cp.dots_with_no_batch_dims_saveable),
                          W, W)
    assert [d.split(" from ")[0] for _, d in res[2:]] == ["output of einsum"]
    res = saved_residuals(ember.checkpoint(f, policy=cp.dots_saveable), W, W)
    assert [d.split(" from ")[0] for _, d in res[2:]] == ["output of einsum"] * 2


def test_policy_errors_and_static_argnums():
    with pytest.raises(TypeError, match="policy must be a function"):
        ember.checkpoint(lambda x: x, policy="dots")
    bad = ember.checkpoint(lambda x: x.sin(), policy=lambda *a, **k: "save")
    with pytest.raises(TypeError, match="returned 'save' for sin"):
        grad(lambda x: bad(x).sum())(jnp.ones(2))
    f = ember.checkpoint(lambda x, n: (x ** n).sin(), static_argnums=(1,),
                         policy=cp.everything_saveable)
    np.testing.assert_allclose(grad(lambda x: f(x, 3).sum())(jnp.ones(2)).numpy(),
                               3 * np.cos(1.0) * np.ones(2), rtol=1e-6)
    with pytest.raises(TypeError, match="must be a string"):
        checkpoint_name(jnp.ones(2), 3)


def test_checkpoint_name_is_the_identity_under_transforms():
    x = jnp.arange(3.)
    tree = checkpoint_name({"a": x, "b": (x, x)}, "t")
    assert set(tree) == {"a", "b"} and np.array_equal(tree["b"][1].numpy(), x.numpy())
    np.testing.assert_array_equal(jit(vmap(lambda v: checkpoint_name(v * 2, "n")))(
        x.reshape(3, 1)).numpy(), 2 * x.numpy().reshape(3, 1))
    np.testing.assert_array_equal(grad(lambda v: checkpoint_name(v, "n").sum())(x).numpy(),
                                  np.ones(3))
    assert ember.jvp(lambda v: checkpoint_name(v, "n"), (x,), (x,))[1].tolist() == x.tolist()


# ---- against JAX -------------------------------------------------------------------------

def _jax():
    return pytest.importorskip("jax")


@pytest.mark.parametrize("pol", ["nothing", "dots", "dots_no_batch", "only_a", "all_but_a",
                                 "both", "everything"])
def test_gradients_match_jax(pol):
    jax = _jax()
    import jax.numpy as jjnp
    from jax.ad_checkpoint import checkpoint_name as jname
    jp = jax.checkpoint_policies
    jpol = {"nothing": jp.nothing_saveable, "dots": jp.dots_saveable,
            "dots_no_batch": jp.dots_with_no_batch_dims_saveable,
            "only_a": jp.save_only_these_names("a"),
            "all_but_a": jp.save_any_names_but_these("a"),
            "both": jp.save_from_both_policies(jp.save_only_these_names("a"),
                                               jp.save_only_these_names("b")),
            "everything": jp.everything_saveable}[pol]

    def jf(W1, W2, W3, x):
        x = jjnp.sin(jjnp.dot(W1, x))
        x = jname(x, "a")
        x = jjnp.sin(jjnp.dot(W2, x))
        x = jname(x, "b")
        return jjnp.sin(jjnp.dot(W3, x))
    ws = _weights()
    want = jax.grad(lambda *a: jax.checkpoint(jf, policy=jpol)(*a).sum(),
                    argnums=(0, 1, 2, 3))(*ws)
    got = _grads(ember.checkpoint(f_named, policy=POLICIES[pol]), [jnp.asarray(w) for w in ws])
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-5, atol=1e-6)


def jax_g(W, x):
    import jax.numpy as jjnp
    y = jjnp.dot(W, x)
    return jjnp.sin(y)


def jax_f_named(W1, W2, W3, x):
    from jax.ad_checkpoint import checkpoint_name as jname
    x = jax_g(W1, x)
    x = jname(x, "a")
    x = jax_g(W2, x)
    x = jname(x, "b")
    return jax_g(W3, x)


@pytest.mark.parametrize("pol", ["nothing", "dots", "only_a", "all_but_a", "both"])
def test_saved_residuals_match_jax(pol):
    """The same values are kept as in JAX (its dot_general is ember's matmul; the source
    lines differ only in the function's name)."""
    jax = _jax()
    from jax.ad_checkpoint import print_saved_residuals as jprint
    jp = jax.checkpoint_policies
    jpol = {"nothing": jp.nothing_saveable, "dots": jp.dots_saveable,
            "only_a": jp.save_only_these_names("a"),
            "all_but_a": jp.save_any_names_but_these("a"),
            "both": jp.save_from_both_policies(jp.save_only_these_names("a"),
                                               jp.save_only_these_names("b"))}[pol]
    ws = _weights()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        jprint(jax.checkpoint(jax_f_named, policy=jpol), *ws)
    want = buf.getvalue().splitlines()
    got = _printed(ember.checkpoint(f_named, policy=POLICIES[pol]), *[jnp.asarray(w)
                                                                        for w in ws])

    def norm(ln):
        head = ln.split(" from /")[0].replace("dot_general", "matmul")
        return head.replace("jax_", "")
    assert [norm(ln) for ln in got] == [norm(ln) for ln in want]
    # the source columns and function names agree too (the lines differ: two twins)
    for a, b in zip(got, want):
        if " from /" in a:
            assert a.split(":")[-1] == b.split(":")[-1].replace("jax_", "")


def test_offloading_policies_save_on_the_cpu():
    ws = [jnp.asarray(w) for w in _weights()]
    offload = cp.save_and_offload_only_these_names(
        names_which_can_be_saved=["a"], names_which_can_be_offloaded=["b"],
        offload_src="device", offload_dst="pinned_host")
    both = cp.save_from_both_policies(cp.save_only_these_names("a"),
                                      cp.save_only_these_names("b"))
    assert len(saved_residuals(ember.checkpoint(f_named, policy=offload), *ws)) == \
        len(saved_residuals(ember.checkpoint(f_named, policy=both), *ws)) == 6
    dots = cp.offload_dot_with_no_batch_dims("device", "pinned_host")
    assert len(saved_residuals(ember.checkpoint(f_named, policy=dots), *ws)) == 4 + 3
    # everything but the value named 'a' (and unnamed values too)
    keep = cp.save_anything_except_these_names("a")
    names = [ln for ln in _printed(ember.checkpoint(f_named, policy=keep), *ws)
             if "named" in ln]
    assert names and all("'a'" not in ln for ln in names)
    ref = _grads(f_named, ws)
    for pol in (offload, dots, keep):
        got = _grads(ember.checkpoint(f_named, policy=pol), ws)
        for g, r in zip(got, ref):
            np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="must not share names"):
        cp.save_and_offload_only_these_names(names_which_can_be_saved=["a"],
                                             names_which_can_be_offloaded=["a"],
                                             offload_src="device", offload_dst="pinned_host")


def test_one_array_passed_twice_is_named_at_each_place():
    w = jnp.ones((4, 4))

    def loss(params, x):
        for W in params:
            x = jnp.sin(W @ x)
        return x.sum()
    lines = _printed(loss, [w, w, w], jnp.ones(4))
    assert [ln for ln in lines if "argument" in ln][:3] == [
        "f32[4,4] from the argument params[0]", "f32[4,4] from the argument params[1]",
        "f32[4,4] from the argument params[2]"]
