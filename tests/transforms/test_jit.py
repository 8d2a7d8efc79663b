"""jit: staging, passes, caching and retrace explanations, and composition."""
import logging

import numpy as np
import pytest

import ember
from ember import grad, jit, make_graph, vmap

from .test_jvp_vmap import FUNCS

rng = np.random.default_rng(2)


def T(*shape, dtype=np.float32):
    return ember.tensor(rng.standard_normal(shape).astype(dtype))


def loss(params, x, y):
    pred = ember.tanh(x @ params["w"] + params["b"])
    return ((pred - y) ** 2).mean()


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_jit_equals_eager_bit_for_bit(name):
    f = FUNCS[name]
    x = T(3, 4)
    np.testing.assert_array_equal(jit(f)(x).numpy(), f(x).numpy())


def test_jitted_training_step_matches_eager_and_is_cached():
    params = {"w": T(3, 1), "b": ember.zeros(1)}
    x, y = T(8, 3), T(8, 1)
    sgd = lambda p, g: ember.tree_map(lambda a, b: a - 0.1 * b, p, g)  # noqa: E731
    step = jit(lambda p, x, y: sgd(p, grad(loss)(p, x, y)))
    p_jit, p_eager = params, params
    for _ in range(3):
        p_jit = step(p_jit, x, y)
        p_eager = sgd(p_eager, grad(loss)(p_eager, x, y))
    for k in params:
        np.testing.assert_array_equal(p_jit[k].numpy(), p_eager[k].numpy())
    assert step.trace_count == 1
    step(params, T(5, 3), T(5, 1))  # a new batch size retraces once
    assert step.trace_count == 2


def test_retrace_is_explained(caplog):
    ember.config.explain_retraces = True
    try:
        f = jit(lambda a: a * 2)
        f(T(3))
        with caplog.at_level(logging.WARNING, logger="ember.jit"):
            f(T(4))
        assert "retracing" in caplog.text and "a: float32[3] -> float32[4]" in caplog.text
    finally:
        ember.config.explain_retraces = False


def test_retrace_names_the_argument_path_and_static_keywords(caplog):
    def loss(params, x, *, scale=1.0):
        return (x @ params["w"].to(x.dtype)).sum() * scale  # matmul refuses mixed dtypes
    f = jit(loss, static_argnames=("scale",))
    p = {"w": T(3, 1)}
    ember.config.explain_retraces = True
    try:
        f(p, T(5, 3))
        with caplog.at_level(logging.WARNING, logger="ember.jit"):
            f(p, T(7, 3))
            f({"w": ember.ones(3, 1, dtype=ember.float64)}, T(7, 3))
            f(p, T(5, 3), scale=2.0)  # closest cached signature: the first one
    finally:
        ember.config.explain_retraces = False
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].endswith("because x: float32[5, 3] -> float32[7, 3]")
    assert lines[1].endswith("because params['w']: float32[3, 1] -> float64[3, 1]")
    assert lines[2].endswith("because static scale: (not given) -> 2.0")
    with pytest.raises(TypeError, match=r"lowered for other arguments: x: float32\[5, 3\] -> "):
        f.lower(p, T(5, 3)).compile()(p, T(6, 3))


def test_static_argnums():
    f = jit(lambda a, n: a * n if n > 1 else a, static_argnums=1)
    x = T(3)
    np.testing.assert_array_equal(f(x, 3).numpy(), (x * 3).numpy())
    np.testing.assert_array_equal(f(x, 1).numpy(), x.numpy())
    assert f.trace_count == 2


def test_python_if_on_traced_value_names_the_line():
    def f(a):
        if a.sum() > 0:
            return a
        return -a
    with pytest.raises(TypeError, match=r"jit\(f\).*traced.*test_jit.py:\d+.*static_argnums"):
        jit(f)(T(3))


def test_graph_prints_and_passes_remove_dead_and_repeated_work():
    def f(a):
        unused = a.exp()  # noqa: F841  (dead)
        return (a * 2).sin() + (a * 2).sin()  # repeated
    g = make_graph(f)(T(3))
    text = str(g)
    assert "exp" not in text
    assert text.count("sin") == 1 and text.count("mul") == 1
    assert "float32[3]" in text


def test_transposes_of_transposes_compose():
    def f(a):
        return a.T.T * 2 + a.permute(2, 0, 1).permute(2, 0, 1).permute(2, 0, 1)
    a = T(2, 3, 4)
    assert "transpose" not in str(make_graph(f)(a))  # both chains are the identity
    g = lambda a: a.permute(1, 2, 0).permute(1, 0, 2) + 1  # noqa: E731
    assert str(make_graph(g)(a)).count("transpose") == 1
    for fn in (f, g):
        np.testing.assert_array_equal(jit(fn)(a).numpy(), fn(a).numpy())


def test_relu_mask_moves_before_the_max_pool_scatter_exactly():
    """grad of max_pool(relu(conv)): the relu mask multiplies the pooled cotangent (a quarter
    of the entries) instead of the scattered gradient; the same bits as eager, ties among
    relu's zeros and negative cotangents (signed zeros) included. Overlapping windows keep
    the mask where it was."""
    import ember.nn.functional as F
    w = T(4, 3, 3, 3)
    x = T(2, 3, 10, 10)
    ct = T(2, 4, 4, 4)

    def f(x, w):
        return (F.max_pool2d(F.relu(F.conv2d(x, w)), 2) * ct).sum()
    text = str(make_graph(grad(f))(x, w))
    assert "bool[2, 4, 4, 4] = gt" in text and "bool[2, 4, 8, 8]" not in text
    for a, b in zip(jit(grad(f, argnums=(0, 1)))(x, w), grad(f, argnums=(0, 1))(x, w)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    y = T(2, 4, 8, 8)
    y = ember.where(y > 1, ember.zeros_like(y), y)  # ties at relu's zero and at positives

    def f2(y):
        return (F.max_pool2d(F.relu(y), 2) * ct).sum()
    gy = jit(grad(f2))(y).numpy()
    np.testing.assert_array_equal(gy, grad(f2)(y).numpy())
    np.testing.assert_array_equal(np.signbit(gy), np.signbit(grad(f2)(y).numpy()))
    assert (np.signbit(gy) & (gy == 0)).any()  # signed zeros are compared too

    def h(x):
        return (F.max_pool2d(F.relu(x), 3, 1) * T(2, 3, 8, 8)).sum()
    assert "bool[2, 3, 10, 10] = gt" in str(make_graph(grad(h))(x))


def test_simplify_doubles_constants_and_drops_keepdim_reshapes_exactly():
    c = ember.tensor(np.full((2, 3), 0.3, np.float32))

    def f(a):
        d = c * a
        s = a.sum(1, keepdim=True).reshape(2)
        return d + d, s
    a = T(2, 3)
    text = str(make_graph(f)(a))
    assert text.count("mul") == 1 and "add" not in text and "reshape" not in text
    for x, y in zip(jit(f)(a), f(a)):
        np.testing.assert_array_equal(x.numpy(), y.numpy())

    def g(a):  # c * a is used twice: it must stay
        d = c * a
        return d + d, d.exp()
    text = str(make_graph(g)(a))
    assert text.count("mul") == 1 and "add" in text
    for x, y in zip(jit(g)(a), g(a)):
        np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_disable_jit_and_debug_run_eagerly():
    seen = []

    def f(a):
        seen.append(type(a).__name__)
        return a + 1
    x = T(2)
    with ember.disable_jit():
        jit(f)(x)
    jit(f, debug=True)(x)
    assert seen == ["Tensor", "Tensor"]


def test_composition_with_grad_and_vmap():
    x = T(4, 3, dtype=np.float64)
    f = lambda a: (a.sin() * a).sum()  # noqa: E731
    g_ref = grad(f)(x[0] if hasattr(ember.Tensor, "__getitem__") else x).numpy()
    x0 = x[0] if hasattr(ember.Tensor, "__getitem__") else x
    np.testing.assert_array_equal(grad(jit(f))(x0).numpy(), g_ref)
    np.testing.assert_array_equal(jit(grad(f))(x0).numpy(), g_ref)
    per = vmap(grad(f))(x).numpy()
    np.testing.assert_array_equal(vmap(jit(grad(f)))(x).numpy(), per)
    np.testing.assert_array_equal(jit(vmap(grad(f)))(x).numpy(), per)


def test_eager_backward_through_jit():
    w = T(3, 2).requires_grad_()
    x = T(5, 3)
    f = jit(lambda a: (a @ w).relu().sum())  # w is captured from the closure
    f(x).backward()
    w2 = w.detach().requires_grad_()
    (x @ w2).relu().sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), w2.grad.numpy(), rtol=1e-6)
    xr = T(5, 3).requires_grad_()
    jit(lambda a: (a * a).sum())(xr).backward()
    np.testing.assert_allclose(xr.grad.numpy(), 2 * xr.detach().numpy(), rtol=1e-6)


def test_plan_reuses_dead_buffers_without_changing_results():
    """In-place reuse of dead intermediates (and donated inputs) must not change a bit, and
    never overwrite a live value, a view's base or an output."""
    import numpy as np
    rng = np.random.default_rng(0)
    w = ember.tensor(rng.standard_normal((50, 40)))  # (results of 1 KiB and more: see
    x = ember.tensor(rng.standard_normal((30, 40)))  # the next test)

    def step(w, x):
        h = (x @ w.T).tanh()
        v = h.T  # a view of h, read after h's last elementwise use
        g = (h * 2 + 1) * h
        return w - 0.1 * (v @ x) * 1.0, g.sum(), h
    want = [t.numpy().copy() for t in step(w, x)]
    src = ember.jit(step).lower(w, x).compile().as_text()
    assert "out=" in src  # some buffer is reused
    for donate in ((), (0,)):
        wd = ember.tensor(w.numpy().copy())
        got = ember.jit(step, donate_argnums=donate)(wd, x)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a.numpy(), b)
    np.testing.assert_array_equal(x.numpy(), x.numpy())


def test_small_results_are_made_fresh_not_written_into_reused_buffers():
    """Below 1 KiB a result is a fresh array (NumPy's small allocation costs less than the
    out= call's layout check); from it on, into a reused buffer. The same values either way."""
    def step(w, g):
        return w - (g * 2.0) * 0.1
    for n, reused in ((8, False), (256, True)):
        w, g = ember.ones(n), ember.full((n,), 3.0)
        want = step(w, g).numpy()  # eagerly
        src = ember.jit(step, donate_argnums=0).lower(w, g).compile().as_text()
        assert ("out=" in src) is reused, src
        got = ember.jit(step, donate_argnums=0)(w, g)
        np.testing.assert_array_equal(got.numpy(), want)


def test_repeat_calls_take_the_guard_and_any_change_falls_back():
    """The repeat call of a jitted function is checked by a generated guard; every change it
    must notice (structure, shape, dtype, constant leaf value, requires_grad, transforms)
    falls back to the full lookup and gives what eager gives."""
    def f(d, x, scale):
        return (d["w"] * x).sum() * scale + d["b"]
    jf = ember.jit(f)

    def check(*args):
        np.testing.assert_array_equal(jf(*args).numpy(), f(*args).numpy())
    d = {"w": ember.ones(3), "b": ember.tensor(0.5)}
    x = ember.arange(3.0)
    check(d, x, 2.0)
    check(d, x, 2.0)
    assert jf.trace_count == 1 and jf._fast is not None
    check({"w": ember.ones(4), "b": ember.tensor(0.5)}, ember.arange(4.0), 2.0)  # shapes
    check(d, x.to(ember.float64), 2.0)                                           # dtype
    check(d, x, 3.0)                                                             # constant
    check({"w": ember.ones(3), "b": ember.tensor(0.5), "c": ember.ones(1)}, x, 3.0)  # keys
    assert jf.trace_count == 5
    check(d, x, 2.0)  # back to the first signature: cached, no new trace, its guard again
    assert jf.trace_count == 5 and sum(1 for es in jf.cache.values() for e in es
                                         if e.guard) == 5
    # a tensor that requires grad takes the tape path, and the guard doesn't hide it
    w = ember.ones(3, requires_grad=True)
    jf({"w": w, "b": ember.tensor(0.5)}, x, 2.0).backward()
    np.testing.assert_array_equal(w.grad.numpy(), 2.0 * x.numpy())
    # under vmap the guard is skipped: the transform sees the primitives
    xs = ember.arange(6.0).reshape(2, 3)
    out = ember.vmap(lambda v: jf(d, v, 2.0))(xs)
    np.testing.assert_array_equal(out.numpy(), np.stack([f(d, v, 2.0).numpy() for v in xs]))


def test_guarded_call_still_sees_closure_parameters_that_require_grad():
    w = ember.ones(3)
    jf = ember.jit(lambda x: (w * x).sum())
    x = ember.arange(3.0)
    jf(x)
    jf(x)  # guarded
    w.requires_grad_(True)
    jf(x).backward()  # the constant now requires grad: the tape path, not the guard
    np.testing.assert_array_equal(w.grad.numpy(), x.numpy())


def test_eval_shape_computes_nothing_and_touches_no_state():
    nn = ember.nn
    m = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 2))
    state = ember.default_generator.get_state()
    before = m[1].running_mean.numpy().copy()
    out = ember.eval_shape(m, ember.ShapeDtypeStruct((16, 4), ember.float32))
    assert out == ember.ShapeDtypeStruct((16, 2), "float32")
    assert ember.default_generator.get_state() == state
    np.testing.assert_array_equal(m[1].running_mean.numpy(), before)
    assert int(m[1].num_batches_tracked) == 0

    def f(p, x):
        return {"y": x @ p["w"], "n": x.sum().int(), "k": 3 * ember.ones(2)}
    got = ember.eval_shape(f, {"w": ember.ones(4, 3)}, np.zeros((5, 4), np.float32))
    assert got == {"y": ember.ShapeDtypeStruct((5, 3), ember.float32),
                   "n": ember.ShapeDtypeStruct((), ember.int32),
                   "k": ember.ShapeDtypeStruct((2,), ember.float32)}
    with pytest.raises(ValueError, match="matmul"):
        ember.eval_shape(f, {"w": ember.ones(3, 3)}, ember.ShapeDtypeStruct((5, 4), "float32"))


def test_block_until_ready_returns_its_argument():
    t = ember.ones(3)
    assert t.block_until_ready() is t
    tree = {"a": t, "b": [1]}
    assert ember.block_until_ready(tree) is tree


def test_compiled_gradients_are_bit_identical_to_the_eager_run():
    rng = np.random.default_rng(3)
    p = [ember.tensor(rng.standard_normal(s).astype(np.float32)) for s in ((30, 20), (20, 5))]
    x = ember.tensor(rng.standard_normal((64, 20)).astype(np.float32))

    def loss(p, x):  # a torch-style transposed weight, a JAX-style one, a transposed product
        h = ember.tanh(x @ p[0].T)
        return ((h @ p[0]) @ p[1]).T.sin().mean()
    step = ember.grad(loss)
    for a, b in zip(jit(step)(p, x), jit(step, debug=True)(p, x)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    lin = ember.nn.Linear(20, 7)
    ref = ember.nn.Linear(20, 7)
    ref.load_state_dict(lin.state_dict())
    jit(lin)(x).tanh().sum().backward()
    ref(x).tanh().sum().backward()
    for a, b in zip(lin.parameters(), ref.parameters()):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
        assert a.grad._data.flags.c_contiguous


def test_ahead_of_time_lower_and_compile():
    f = jit(lambda x, y: (x * y).sum())
    x = ember.ones(3)
    low = f.lower(x, x)
    assert "mul" in low.as_text() and "float32[3]" in low.as_text()
    c = low.compile()
    assert "def plan(" in c.as_text()
    assert float(c(x, 2 * x)) == 6.0
    with pytest.raises(TypeError, match=r"lowered for other arguments: y: float32\[3\] -> "
                                         r"float32\[4\]"):
        c(x, ember.ones(4))
    assert f.trace_count == 1


def test_relu_runs_in_place_in_a_plan_with_the_eager_bits():
    """relu acts as a ufunc in plans: relu(conv + bias) overwrites the sum's buffer (no second
    activation-sized array) and gives the eager bits, forward and gradient."""
    import ember.nn.functional as F
    rng = np.random.default_rng(0)
    w = ember.tensor(rng.standard_normal((4, 2, 3, 3)).astype(np.float32))
    b = ember.tensor(rng.standard_normal(4).astype(np.float32))
    x = ember.tensor(rng.standard_normal((3, 2, 8, 8)).astype(np.float32))

    def f(w, x):
        return F.max_pool2d(F.relu(F.conv2d(x, w, b, padding=1)), 2).sum()
    from ember.transforms.staging.passes import _inplace_targets, optimize
    graph = optimize(ember.make_graph(f)(w, x))
    k = [i for i, e in enumerate(graph.eqns) if e.prim.name == "relu"]
    assert len(k) == 1 and k[0] in _inplace_targets(graph)
    jf = ember.jit(f)
    np.testing.assert_array_equal(jf(w, x).numpy(), f(w, x).numpy())
    g, jg = ember.grad(f), ember.jit(ember.grad(f))
    np.testing.assert_array_equal(jg(w, x).numpy(), g(w, x).numpy())
    xi = ember.tensor(rng.integers(-5, 5, (6,)))  # an integer relu, in place too
    np.testing.assert_array_equal(ember.jit(lambda v: ember.relu(v + 1))(xi).numpy(),
                                  np.maximum(xi.numpy() + 1, 0))


def test_jit_closing_over_values_of_an_enclosing_transform_runs_inline():
    # JAX allows a jitted function to close over tracers of grad/vmap/jit around it
    w, x = ember.randn(3, 3), ember.randn(2, 3)
    ref = ember.grad(lambda w: (x @ w).tanh().sum())(w).numpy()
    inner = None

    def f(w):
        nonlocal inner
        inner = ember.jit(lambda v: (v @ w).tanh())
        return inner(x).sum()
    np.testing.assert_allclose(ember.grad(f)(w).numpy(), ref, rtol=1e-6)
    assert inner._inline
    np.testing.assert_allclose(ember.jit(ember.grad(f))(w).numpy(), ref, rtol=1e-6)
    per = ember.vmap(ember.grad(f))(ember.stack([w, w])).numpy()
    np.testing.assert_allclose(per[1], ref, rtol=1e-6)
    plain = ember.jit(lambda v, s: v * s)  # no capture: stays one compiled call
    ember.grad(lambda w: plain(x, w[0, 0]).sum())(w)
    assert not plain._inline and plain.trace_count == 1


def test_padded_input_gradients_are_cropped_inside_the_fused_kernel():
    """grad of a padded convolution's input in a plan: the padding's transpose (a slice of
    the fused input gradient) becomes the kernel's crop, a dense copy, with eager's bits."""
    import ember.nn.functional as F
    from ember.transforms.staging.passes import optimize
    x, w, ct = T(2, 32, 4, 4), T(8, 32, 3, 3), T(2, 8, 4, 4)

    def f(x):
        return (F.relu(F.conv2d(x, w, padding=1)) * ct).sum()
    text = str(optimize(ember.make_graph(grad(f))(x)))
    assert "conv_input_grad" in text and "crop=((0, 2), (0, 32), (1, 5), (1, 5))" in text
    assert "getitem_basic" not in text
    got = jit(grad(f))(x)
    np.testing.assert_array_equal(got.numpy(), grad(f)(x).numpy())
    assert got.numpy().flags.c_contiguous or got.numpy().transpose(1, 0, 2, 3).flags.c_contiguous
