"""The update rules are written once; evaluated in place on NumPy storage (the eager
optimizers) and functionally on ember tensors (the jit-able optimizers) they give the same
bits, and the in-place evaluation updates the state where it lives and leaves the gradient
alone."""
import numpy as np
import pytest

import ember
from ember.optim import update_rules as R
from ember.optim import inplace as inplace_module
from ember.optim.inplace import IN_PLACE

SGD = [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.05, momentum=0.9, nesterov=True,
                                                        weight_decay=0.01),
       dict(lr=0.1, momentum=0.5, dampening=0.1, maximize=True)]
ADAM = [dict(lr=1e-3), dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True),
        dict(lr=0.01, weight_decay=0.1, decoupled=True), dict(lr=0.01, amsgrad=True,
                                                               maximize=True, decoupled=True,
                                                               weight_decay=0.05)]
FUNCTIONAL = R.Functional(ember.sqrt, ember.maximum,
                          lambda t, g, other: ember.where(t == 1, g, other))


def _grads(shape, n=6):
    rng = np.random.default_rng(0)
    p = rng.standard_normal(shape).astype(np.float32)
    return p, [rng.standard_normal(shape).astype(np.float32) for _ in range(n)]


def _functional_step(rule, q, g, s, t, hp):
    """One step of the rule on ember tensors, traced by jit (as ember.optim.functional)."""
    def step(q, g, s, t):
        u, s = rule(FUNCTIONAL, q, g, s, t, **hp)
        return q + u, s
    return ember.jit(step)(q, g, s, t)


@pytest.mark.parametrize("rule,hps,shape", [(R.sgd, SGD, (7, 5)), (R.adam, ADAM, (300,))])
def test_in_place_and_functional_give_the_same_bits(rule, hps, shape):
    for hp in hps:
        p0, gs = _grads(shape)
        names = R.STATE[rule.__name__](hp)
        p = p0.copy()
        # the eager optimizers create SGD's momentum buffer on the first step, Adam's at zero
        st = {} if rule is R.sgd else {n: np.zeros_like(p0) for n in names}
        q = ember.tensor(p0)
        s = {n: ember.zeros(*shape) for n in names}
        for t, g in enumerate(gs, 1):
            g_before = g.copy()
            buffers = {k: v for k, v in st.items()}
            delta, new = rule(IN_PLACE, p, g, st, t, **hp)
            np.testing.assert_array_equal(g, g_before)  # the gradient is left alone
            for k, buf in buffers.items():  # the state is updated where it lives
                assert new[k] is buf
            st.update(new)
            assert delta.dtype == np.float32  # no promotion to float64
            p += delta
            q, s = _functional_step(rule, q, ember.tensor(g), s,
                                    ember.tensor(float(t), dtype=ember.float64), hp)
            np.testing.assert_array_equal(p, q.numpy())
            for n in names:
                np.testing.assert_array_equal(st[n], s[n].numpy())


# the stateful optimizers (their kept scratch buffer shared by parameters of different shapes
# and dtypes) against the functional ones under jit: the same bits, parameter by parameter
STATEFUL_VS_JIT = [
    ("SGD", "sgd", dict(lr=0.1, weight_decay=0.01), dict(weight_decay=0.01)),
    ("SGD", "sgd", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
     dict(momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", "sgd", dict(lr=0.1, momentum=0.5, dampening=0.3),
     dict(momentum=0.5, dampening=0.3)),
    ("Adam", "adam", dict(lr=0.01), {}),
    ("Adam", "adam", dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1,
                          amsgrad=True), dict(b1=0.8, b2=0.95, eps=1e-6, weight_decay=0.1,
                                              amsgrad=True)),
    ("AdamW", "adamw", dict(lr=0.01, weight_decay=0.1), dict(weight_decay=0.1)),
]


@pytest.mark.parametrize("cls,fn,kw,fkw", STATEFUL_VS_JIT,
                         ids=[f"{c[1]}{i}" for i, c in enumerate(STATEFUL_VS_JIT)])
def test_stateful_with_kept_scratch_equals_jitted_functional(cls, fn, kw, fkw):
    rng = np.random.default_rng(3)
    # parameters large enough for the kept scratch (a float32 one grows it, a float64 one
    # has its own) and small ones (which allocate): views of one buffer per dtype
    shapes = [((100, 90), np.float32), ((7,), np.float32), ((90, 100), np.float64),
              ((50, 20, 10), np.float32), ((4, 5), np.float64)]
    init = {f"p{i}": rng.standard_normal(s).astype(d) for i, (s, d) in enumerate(shapes)}
    ps = {k: ember.nn.Parameter(ember.tensor(v.copy())) for k, v in init.items()}
    opt = getattr(ember.optim, cls)(list(ps.values()), **kw)
    fopt = getattr(ember.optim.functional, fn)(kw["lr"], **fkw)
    q = {k: ember.tensor(v.copy()) for k, v in init.items()}
    state = fopt.init(q)

    @ember.jit
    def jstep(q, s, g):
        u, s = fopt.update(g, s, q)
        return ember.optim.functional.apply_updates(q, u), s
    for step in range(5):
        grads = {k: rng.standard_normal(v.shape).astype(v.dtype) for k, v in init.items()}
        for k, p in ps.items():
            p.grad = ember.tensor(grads[k].copy())
        opt.step()
        q, state = jstep(q, state, {k: ember.tensor(g) for k, g in grads.items()})
        for k, p in ps.items():
            np.testing.assert_array_equal(p.detach().numpy(), q[k].numpy(),
                                          err_msg=f"{cls} {kw} step {step + 1} {k}")
            np.testing.assert_array_equal(p.grad.numpy(), grads[k])  # the gradient is kept
    flat = dict(opt._arith._flat)
    assert len(flat) == 2  # float32 and float64
    opt.step()
    assert all(opt._arith._flat[k] is v for k, v in flat.items())  # no allocation per step


# ---- large parameters are updated piece by piece (inplace.update): the same bits ----------

PIECEWISE = [(R.sgd, hp) for hp in SGD] + [(R.adam, hp) for hp in ADAM] + [
    (R.rmsprop, dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.1)),
    (R.rmsprop, dict(lr=0.01, maximize=True)),
    (R.adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=0.1))]


@pytest.mark.parametrize("rule,hp", PIECEWISE, ids=[f"{r.__name__}{i}"
                                                    for i, (r, _) in enumerate(PIECEWISE)])
def test_piecewise_update_equals_the_whole_array_update(rule, hp):
    from ember.optim.inplace import InPlace, update
    p0, gs = _grads((100, 250))  # 25000 entries: 3 pieces of 8192 and a short one
    names = R.STATE[rule.__name__](hp)
    init = {n: (np.full_like(p0, 0.5) if n == "sum" else np.zeros_like(p0)) for n in names}
    if rule is R.sgd:
        init = {}  # the momentum buffer is made by the first step (in pieces: put together)
    runs = []
    for piece in (1 << 30, 8192):
        p, st = p0.copy(), {k: v.copy() for k, v in init.items()}
        arith = InPlace(keep_scratch=True)
        for t, g in enumerate(gs, 1):
            g_before = g.copy()
            buffers = dict(st)
            update(rule, arith, p, g, st, t, hp, cast=True, piece=piece)
            np.testing.assert_array_equal(g, g_before)
            if piece == 8192 or rule in (R.sgd, R.adam):  # updated where they live
                assert all(st[k] is v for k, v in buffers.items())
        if piece == 8192 and rule is not R.rmsprop and rule is not R.adagrad:
            # the kept scratch is one piece, not the parameter
            assert [v.size for v in arith._flat.values()] == [piece]
        runs.append((p, st))
    (p_whole, st_whole), (p_pieces, st_pieces) = runs
    np.testing.assert_array_equal(p_pieces, p_whole)
    assert sorted(st_pieces) == sorted(st_whole)
    for k in st_whole:
        np.testing.assert_array_equal(st_pieces[k], st_whole[k], err_msg=k)
        assert st_pieces[k].shape == p0.shape


@pytest.mark.parametrize("rule,hp", PIECEWISE, ids=[f"{r.__name__}{i}"
                                                    for i, (r, _) in enumerate(PIECEWISE)])
def test_pieces_on_two_threads_give_the_one_thread_bits(rule, hp, monkeypatch):
    from ember.backend import threads
    from ember.optim import inplace
    p0, gs = _grads((150, 250))  # 5 pieces of 8192 (the last short): the first on the
    names = R.STATE[rule.__name__](hp)  # caller's thread, then 2 + 2 on two threads
    init = {} if rule is R.sgd else {
        n: (np.full_like(p0, 0.5) if n == "sum" else np.zeros_like(p0)) for n in names}
    calls = []
    run_parts = threads.run_parts
    monkeypatch.setattr(threads, "run_parts",
                        lambda fn, parts: calls.append(len(parts)) or run_parts(fn, parts))
    monkeypatch.setattr(threads, "cores", 2)
    runs = []
    for min_pieces in (None, 2):
        monkeypatch.setattr(threads, "SPLIT_MIN_PIECES", min_pieces)
        p, st = p0.copy(), {k: v.copy() for k, v in init.items()}
        arith = inplace.InPlace(keep_scratch=True)
        for t, g in enumerate(gs, 1):
            inplace.update(rule, arith, p, g, st, t, hp, cast=True, piece=8192)
        runs.append((p, st))
        if min_pieces and arith._flat:  # the kernel thread's scratch is its own
            mine, its = list(arith._flat.values()), list(arith.twin()._flat.values())
            assert its and not any(np.shares_memory(a, b) for a in mine for b in its)
    assert calls == [2] * len(gs)  # each step of the threaded run, none of the other
    (p1, st1), (p2, st2) = runs
    np.testing.assert_array_equal(p2, p1)
    assert sorted(st2) == sorted(st1)
    for k in st1:
        np.testing.assert_array_equal(st2[k], st1[k], err_msg=k)


@pytest.mark.parametrize("cls,kw", [("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
                                    ("Adam", dict(lr=0.01, amsgrad=True)),
                                    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
                                    ("RMSprop", dict(lr=0.01, momentum=0.9)),
                                    ("Adagrad", dict(lr=0.1))])
def test_stateful_optimizer_updates_a_large_parameter_in_pieces(cls, kw, monkeypatch):
    from ember.optim import inplace
    rng = np.random.default_rng(5)
    init = rng.standard_normal((300, 70)).astype(np.float32)  # 21000 > 2 pieces of 8192
    grads = [rng.standard_normal(init.shape).astype(np.float32) for _ in range(4)]
    # a transposed (not C-contiguous) parameter takes the whole-array path
    out = []
    for piece in (1 << 30, 8192):
        monkeypatch.setattr(inplace, "PIECE", piece)
        w = ember.nn.Parameter(ember.tensor(init.copy()))
        wt = ember.nn.Parameter(ember.tensor(init.copy().T))
        opt = getattr(ember.optim, cls)([w, wt], **kw)
        for g in grads:
            w.grad, wt.grad = ember.tensor(g.copy()), ember.tensor(g.copy().T)
            opt.step()
        if piece == 8192 and cls in ("SGD", "Adam", "AdamW"):
            assert opt._arith._flat[(np.ndarray, np.dtype(np.float32))].size <= 2 * piece
        out.append((w.detach().numpy().copy(), wt.detach().numpy().copy(),
                    {k: v.copy() for k, v in opt.state[id(w)].items() if k != "step"}))
    (a, at, sa), (b, bt, sb) = out
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(at, bt)
    np.testing.assert_array_equal(a, at.T)  # the layouts agree too
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)


def test_a_threaded_piecewise_update_frees_the_gradient_at_once(monkeypatch):
    """No reference cycle holds the gradient after the step (a self-calling closure did,
    until the cyclic collector ran: VGG-11's eager peak memory +500 MB)."""
    import gc
    import weakref

    from ember.backend import threads
    from ember.optim import inplace
    monkeypatch.setattr(threads, "cores", 2)
    monkeypatch.setattr(inplace, "PIECE", 8192)
    w = ember.nn.Parameter(ember.zeros(150, 250))  # 5 pieces: threaded
    opt = ember.optim.SGD([w], lr=0.1, momentum=0.9)
    g = np.ones((150, 250), np.float32)
    ref = weakref.ref(g)
    w.grad = ember.from_numpy(g)
    del g
    opt.step()
    gc.disable()
    try:
        w.grad = None
        assert ref() is None
    finally:
        gc.enable()


_COMPILED = inplace_module._compiled_update  # (before any test wraps it)


def _compiled_runs(rule, hp, shape, monkeypatch, min_size):
    """The rule's in-place steps with the compiled pass from ``min_size`` entries: the final
    parameter and state, and which steps took the compiled pass."""
    from ember.optim import inplace
    monkeypatch.setattr(inplace, "COMPILED_MIN", min_size)
    took = []
    monkeypatch.setattr(inplace, "_compiled_update",
                        lambda *a: took.append(_COMPILED(*a)) or took[-1])
    p, gs = _grads(shape, n=4)
    names = R.STATE[rule.__name__](hp)
    st = {} if rule is R.sgd else {n: np.zeros_like(p) for n in names}
    arith = inplace.InPlace(keep_scratch=True)
    for t, g in enumerate(gs, 1):
        g_before = g.copy()
        inplace.update(rule, arith, p, g, st, t, hp, cast=True)
        np.testing.assert_array_equal(g, g_before)
    return p, st, took


@pytest.mark.parametrize("rule,hp", [(R.sgd, hp) for hp in SGD] + [(R.adam, hp) for hp in ADAM])
def test_the_compiled_pass_gives_the_ufunc_bits(rule, hp, monkeypatch):
    from ember.backend import accel
    if accel.kernels() is None:
        pytest.skip("the compiled kernels are off (numba not installed)")
    p1, st1, took1 = _compiled_runs(rule, hp, (50, 100), monkeypatch, 1 << 40)
    p2, st2, took2 = _compiled_runs(rule, hp, (50, 100), monkeypatch, 1000)
    assert took1 == []
    # SGD's first momentum step makes its buffer (the ufunc path); amsgrad's maximum is not
    # an operation of the compiled pass
    expect = [not hp.get("amsgrad") and not (t == 1 and hp.get("momentum"))
              for t in range(1, 5)]
    assert took2 == expect
    np.testing.assert_array_equal(p2, p1)
    assert sorted(st2) == sorted(st1)
    for k in st1:
        np.testing.assert_array_equal(st2[k], st1[k], err_msg=k)


def test_the_compiled_pass_on_two_threads_gives_the_one_thread_bits(monkeypatch):
    from ember.backend import accel, threads
    from ember.optim import inplace
    if accel.kernels() is None:
        pytest.skip("the compiled kernels are off (numba not installed)")
    monkeypatch.setattr(threads, "cores", 2)
    monkeypatch.setattr(inplace, "PIECE", 1024)  # 5000 entries: split from 2 pieces
    calls = []
    run_parts = threads.run_parts
    monkeypatch.setattr(threads, "run_parts",
                        lambda fn, parts: calls.append(len(parts)) or run_parts(fn, parts))
    runs = []
    for min_pieces in (None, 2):
        monkeypatch.setattr(threads, "SPLIT_MIN_PIECES", min_pieces)
        runs.append(_compiled_runs(R.adam, ADAM[0], (50, 100), monkeypatch, 1000))
    assert calls == [2] * 4 and runs[1][2] == [True] * 4
    np.testing.assert_array_equal(runs[1][0], runs[0][0])
    for k in runs[0][1]:
        np.testing.assert_array_equal(runs[1][1][k], runs[0][1][k], err_msg=k)


def test_a_float64_scalar_takes_the_ufunc_path(monkeypatch):
    # NumPy 2 does not treat a NumPy float64 scalar as weak: the ufuncs compute in float64
    # and round into the float32 buffers, which the float32 pass would not reproduce
    from ember.backend import accel
    if accel.kernels() is None:
        pytest.skip("the compiled kernels are off (numba not installed)")
    hp = dict(lr=np.float64(0.1), momentum=0.9)
    p1, st1, _ = _compiled_runs(R.sgd, hp, (50, 100), monkeypatch, 1 << 40)
    p2, st2, took = _compiled_runs(R.sgd, hp, (50, 100), monkeypatch, 1000)
    assert not any(took)
    np.testing.assert_array_equal(p2, p1)


@pytest.mark.parametrize("rule,hp", [(R.rmsprop, dict(lr=0.01, momentum=0.9)),
                                     (R.adagrad, dict(lr=0.1))])
def test_rules_written_with_operators_take_the_ufunc_path(rule, hp, monkeypatch):
    # RMSprop's and Adagrad's rules combine their values with Python's operators, which a
    # recorded chain does not take: a large parameter is updated by the ufuncs
    p1, st1, took1 = _compiled_runs(rule, hp, (50, 100), monkeypatch, 1 << 40)
    p2, st2, took2 = _compiled_runs(rule, hp, (50, 100), monkeypatch, 1000)
    assert not any(took2)
    np.testing.assert_array_equal(p2, p1)
