"""Plans write an elementwise result into a dead buffer of the plan (out=) instead of a fresh
allocation: Adam's temporaries. Only buffers whose every value has been read, never a graph
output's, and only when the result would be C-ordered anyway (same layout as eagerly)."""
import numpy as np

import ember
from ember.transforms.staging.ir import Var
from ember.transforms.staging.passes import _inplace_targets, optimize


def _adam_like(p, g, m, v):
    m2 = m * 0.9 + g * 0.1
    v2 = v * 0.999 + (g * g) * 0.001
    upd = m2 / (ember.sqrt(v2) + 1e-8)
    return p - upd * 1e-3, m2, v2


def _args(shape=(64, 32), seed=0):
    rng = np.random.default_rng(seed)
    return [ember.tensor(rng.standard_normal(shape).astype(np.float32)) for _ in range(4)]


def test_sqrt_of_adam_takes_a_dead_buffer():
    args = _args()
    g = optimize(ember.make_graph(_adam_like)(*args))
    t = _inplace_targets(g)
    k = [i for i, e in enumerate(g.eqns) if e.prim.name == "sqrt"]
    assert len(k) == 1 and isinstance(t.get(k[0]), Var)
    # the buffer it takes is dead: none of the values it held is read from the sqrt on
    buf = t[k[0]]
    assert all(buf not in e.ins for e in g.eqns[k[0]:])
    assert buf not in g.outs


def test_plans_with_dead_buffers_give_the_eager_bits():
    args = _args()
    want = _adam_like(*args)
    f = ember.jit(_adam_like)
    for _ in range(2):
        got = f(*[a.clone() for a in args])
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
            assert a.numpy().flags.c_contiguous


def test_donated_state_updated_through_dead_buffers():
    args = _args(seed=1)
    want = _adam_like(*[a.clone() for a in args])
    f = ember.jit(_adam_like, donate_argnums=(0, 2, 3))
    p, g, m, v = [a.clone() for a in args]
    for _ in range(3):  # later calls run on the buffers the plan itself returned
        p, m, v = f(p, g, m, v)
    q, mm, vv = [a.clone() for a in (args[0], args[2], args[3])]
    for _ in range(3):
        q, mm, vv = _adam_like(q, args[1], mm, vv)
    for a, b in zip((p, m, v), (q, mm, vv)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(f(*args)[0].numpy(), want[0].numpy())


def test_a_result_never_lands_in_a_graph_output_or_a_live_buffer():
    def f(a, b):
        t = a * b        # an output: its buffer is never reused
        u = a + b        # read again at the end
        w = ember.exp(t) * 2.0
        z = ember.sqrt(ember.abs(w)) + u
        return t, z
    rng = np.random.default_rng(2)
    a, b = (ember.tensor(rng.standard_normal((16, 8)).astype(np.float32)) for _ in range(2))
    g = optimize(ember.make_graph(f)(a, b))
    t = _inplace_targets(g)
    outs = set(map(id, g.outs))
    for k, v in t.items():
        if isinstance(v, Var):
            assert id(v) not in outs
            assert all(v not in e.ins for e in g.eqns[k:])
    jf = ember.jit(f)
    for x, y in zip(jf(a, b), f(a, b)):
        np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_a_dead_buffer_of_another_layout_is_not_used():
    """A transposed operand: the result eagerly follows its layout, and so does the plan's."""
    def f(a, b):
        t = (a.T * 2.0).T + 1.0    # a buffer with Fortran order (the transposes are views)
        s = t.sum()                 # t's buffer is dead from here
        u = ember.exp(b)            # C order, same shape: t's buffer is the candidate
        return u * s
    rng = np.random.default_rng(3)
    a, b = (ember.tensor(rng.standard_normal((6, 5)).astype(np.float32)) for _ in range(2))
    g = optimize(ember.make_graph(f)(a, b))
    k = [i for i, e in enumerate(g.eqns) if e.prim.name == "exp"]
    assert isinstance(_inplace_targets(g).get(k[0]), Var)  # chosen when compiling ...
    want = f(a, b)
    got = ember.jit(f)(a, b)  # ... and declined when running: the buffer is F-ordered
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert got.numpy().flags.c_contiguous == want.numpy().flags.c_contiguous
    bt = ember.tensor(np.asfortranarray(b.numpy()))  # an F-ordered operand: declined too
    got, want = ember.jit(f)(a, bt), f(a, bt)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert got.numpy().strides == want.numpy().strides


def test_resnet_gradients_under_jit_are_eager_bits():
    # an elementwise result written into an input's buffer took that buffer's layout; when
    # it was not C-ordered, later sums over it ran in another order than eager's (resnet18's
    # layer1 gradients differed by ~1e-7): in-place writes now need the layout eager gets
    from ember.func import functional_call
    from ember.models import resnet18
    ember.manual_seed(0)
    m = resnet18(num_classes=3)
    x = ember.randn(2, 3, 32, 32)
    y = ember.tensor([0, 2])
    names = [k for k, _ in m.named_parameters()]
    p = {k: v.detach().clone() for k, v in m.state_dict().items() if k in names}
    state = {k: v.detach().clone() for k, v in m.state_dict().items()}

    def loss(q):
        return ember.nn.functional.cross_entropy(functional_call(m, q, (x,)), y)

    eager = ember.grad(loss)(p)
    m.load_state_dict(state)
    jitted = ember.jit(ember.grad(loss))(p)
    for k in names:
        np.testing.assert_array_equal(eager[k].detach().numpy(), jitted[k].detach().numpy(),
                                      err_msg=k)


def _chain(x, w):
    # ten products, each result read only by the next: at most two of them need to be alive
    for _ in range(10):
        x = ember.tanh(x @ w)
    return x.sum()


def test_a_plan_frees_each_intermediate_after_its_last_use():
    import tracemalloc
    x = ember.tensor(np.ones((256, 256), np.float32))   # 256 KiB per intermediate
    w = ember.tensor(np.eye(256, dtype=np.float32))
    f = ember.jit(_chain)
    want = _chain(x, w).item()
    assert f(x, w).item() == want  # compiled
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        assert f(x, w).item() == want
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    # all 20 intermediates kept to the end would be 5 MiB; freed as they die, a few alive
    assert peak < 4 * 256 * 1024, peak



def _sgd_momentum_linear(w, m, x, ct):
    g = x.T @ ct                      # a weight gradient: a product's fresh result
    m2 = m * 0.9 + g                  # g is dead after this line
    return w - m2 * 0.01, m2          # the scaled momentum may take g's buffer


def test_a_dead_product_result_takes_a_later_ufunc_result():
    rng = np.random.default_rng(1)
    args = [ember.tensor(rng.standard_normal(s).astype(np.float32))
            for s in ((32, 16), (32, 16), (8, 32), (8, 16))]
    g = optimize(ember.make_graph(_sgd_momentum_linear)(*args))
    t = _inplace_targets(g)
    k = [i for i, e in enumerate(g.eqns) if e.prim.name == "mul"]
    mm = [e.outs[0] for e in g.eqns if e.prim.name == "matmul"]
    assert len(mm) == 1 and any(t.get(i) is mm[0] for i in k)
    want = _sgd_momentum_linear(*args)
    f = ember.jit(_sgd_momentum_linear)
    for _ in range(2):
        got = f(*args)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def _conv_bias_relu(x, w, b):
    return ember.relu(ember.nn.functional.conv2d(x, w, b, padding=1))


def test_a_convolutions_bias_is_added_into_its_output():
    """A two-operand einsum (the convolution's product) makes memory of its own: the bias
    add writes into it (and the relu then into that), with the eager bits; a one-operand
    einsum may be a view of its operand and takes no result."""
    rng = np.random.default_rng(2)
    args = [ember.tensor(rng.standard_normal(s).astype(np.float32))
            for s in ((8, 3, 12, 12), (16, 3, 3, 3), (16,))]
    g = optimize(ember.make_graph(_conv_bias_relu)(*args))
    t = _inplace_targets(g)
    k = next(i for i, e in enumerate(g.eqns) if e.prim.name == "add")
    assert isinstance(t.get(k), int)
    into = g.eqns[k].ins[t[k]]
    assert any(e.prim.name == "einsum" and e.outs[0] is into for e in g.eqns)
    want = _conv_bias_relu(*args).numpy()
    f = ember.jit(_conv_bias_relu)
    for _ in range(2):
        np.testing.assert_array_equal(f(*args).numpy(), want)

    def transpose_then_add(x):
        return ember.einsum("ij->ji", x) * 2.0 + 1.0
    x = ember.tensor(rng.standard_normal((6, 5)).astype(np.float32))
    x0 = x.numpy().copy()
    g = optimize(ember.make_graph(transpose_then_add)(x))
    k = next(i for i, e in enumerate(g.eqns) if e.prim.name == "mul")
    assert k not in _inplace_targets(g)
    np.testing.assert_array_equal(ember.jit(transpose_then_add)(x).numpy(), x0.T * 2.0 + 1.0)
    np.testing.assert_array_equal(x.numpy(), x0)
