"""Chains of elementwise equations over one large shape run piece by piece in a jit plan
(transforms/staging/pieces.py): the eager bits, in place where the straight-line plan writes
in place, whole when an operand is not C-ordered, and scalars and intermediates read after
the chain returned."""
import numpy as np
import pytest

import ember
from ember.backend import threads
from ember.transforms.staging import pieces
from ember.transforms.staging.codegen import compile_plan
from ember.transforms.staging.ir import Var
from ember.transforms.staging.passes import _inplace_targets, _is_elementwise_ufunc, optimize


@pytest.fixture
def small_pieces(monkeypatch):
    """Pieces of 1000 entries (not a multiple of the test arrays' sizes: a short last piece)
    from chains of 3000 entries up."""
    monkeypatch.setattr(pieces, "PIECE", 1000)
    monkeypatch.setattr(pieces, "MIN_SIZE", 3000)
    monkeypatch.setattr(threads, "SPLIT_MIN_PIECES", 4)


def _adam_like(p, g, m, v, t):
    m2 = m * 0.9 + g * 0.1
    v2 = v * 0.999 + (g * g) * 0.001
    c1 = 1 - 0.9 ** t  # scalars among the large equations
    c2 = 1 - 0.999 ** t
    upd = (m2 / c1) / (ember.sqrt(v2 / c2) + 1e-8)
    return p - upd * 1e-3, m2, v2


def _args(shape=(123, 45), seed=0):
    rng = np.random.default_rng(seed)
    p, g, m, v = (rng.standard_normal(shape).astype(np.float32) for _ in range(4))
    return [ember.tensor(a) for a in (p, g, m, np.abs(v))] + \
        [ember.tensor(np.float32(3.0))]


def _runs(f, *args):
    g = optimize(ember.make_graph(f)(*args))
    return g, pieces.find_runs(g, _inplace_targets(g), _is_elementwise_ufunc)


def test_adam_chain_is_one_run(small_pieces):
    g, runs = _runs(_adam_like, *_args())
    assert len(runs) == 1
    (run,) = runs.values()
    names = {g.eqns[i].prim.name for i in run.span}
    assert {"mul", "add", "div", "sqrt"} <= names
    assert len(run.outs) == 3  # p', m2, v2: read after the chain; the rest in scratch
    assert run.n_tmp >= 1


def test_the_optimizers_adam_update_is_one_run(small_pieces):
    # its bias corrections are cast to the parameter's dtype between the large equations:
    # scalar casts run once before the pieces, as the scalar ufuncs do, and split no chain
    F = ember.optim.functional
    opt = F.adam(1e-3)
    p, g = _args()[:2]

    def step(p, s, g):
        u, s = opt.update({"w": g}, s, {"w": p})
        return F.apply_updates({"w": p}, u), s
    s = opt.init({"w": p})
    graph, runs = _runs(step, p, s, g)
    assert "convert_element_type" in {e.prim.name for e in graph.eqns}
    big = [i for i, e in enumerate(graph.eqns) if e.outs[0].aval.shape == (123, 45)]
    assert len(runs) == 1 and set(big) <= set(next(iter(runs.values())).span)


def test_small_chains_and_other_shapes_stay_whole(small_pieces):
    _, runs = _runs(_adam_like, *_args(shape=(20, 30)))  # 600 entries < MIN_SIZE
    assert runs == {}
    _, runs = _runs(lambda a, b: (a * 2 + b) * 3, *_args(shape=(100, 40))[:1],
                    _args(shape=(40,))[0])  # a broadcast operand: not a run
    assert runs == {}


@pytest.mark.parametrize("cores", [1, 2])
def test_pieces_give_the_eager_bits(small_pieces, monkeypatch, cores):
    # two cores: the second half of the pieces on a kernel thread
    from ember.backend import threads
    monkeypatch.setattr(threads, "cores", cores)
    calls = []
    run_parts = threads.run_parts
    monkeypatch.setattr(threads, "run_parts", lambda fn, parts: calls.append(len(parts)) or
                        run_parts(fn, parts))
    args = _args()
    want = _adam_like(*args)
    f = ember.jit(_adam_like)
    for _ in range(2):
        got = f(*[a.clone() for a in args])
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert calls == ([2, 2] if cores == 2 else [])


def test_pieces_keep_the_callers_errstate(small_pieces, monkeypatch):
    from ember.backend import threads
    monkeypatch.setattr(threads, "cores", 2)
    args = _args()
    v = args[3].numpy().copy()
    v[-1, -1] = -1.0  # sqrt of a negative entry in the last piece (the kernel thread's)
    args[3] = ember.tensor(v)
    with np.errstate(invalid="raise"):
        with pytest.raises(FloatingPointError):
            ember.jit(_adam_like)(*args)


def test_pieces_in_donated_state(small_pieces):
    args = _args(seed=1)
    f = ember.jit(_adam_like, donate_argnums=(0, 2, 3))
    p, g, m, v, t = [a.clone() for a in args]
    for _ in range(3):  # later calls run on the buffers the plan itself returned
        p, m, v = f(p, g, m, v, t)
    q, mm, vv = [a.clone() for a in (args[0], args[2], args[3])]
    for _ in range(3):
        q, mm, vv = _adam_like(q, args[1], mm, vv, args[4])
    for a, b in zip((p, m, v), (q, mm, vv)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_not_c_ordered_operands_run_whole(small_pieces):
    args = _args(shape=(45, 123))
    tr = [a.T for a in args[:4]] + [args[4]]  # Fortran-ordered views
    want = _adam_like(*[a.contiguous() for a in tr[:4]], tr[4])
    g, runs = _runs(_adam_like, *tr)
    (run,) = runs.values()
    by_var = {id(v): a for v, a in zip(g.invars, tr)}
    got = run(*[by_var[id(x)].numpy() for x in run.ins])  # the whole-array path
    for o, a in zip(run.outs, got):
        np.testing.assert_array_equal(a, want[g.outs.index(o)].numpy())
    for a, b in zip(ember.jit(_adam_like)(*tr), want):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_scalars_and_intermediates_read_after_the_chain(small_pieces):
    def f(a, b, t):
        x = a * 2 + b
        c = 1 - 0.5 ** t  # made among the chain's equations
        y = x * x * c
        z = y / c + a
        return z.sum() + x[0, 0], c * 2, y

    rng = np.random.default_rng(3)
    a, b = (ember.tensor(rng.standard_normal((60, 70)).astype(np.float32)) for _ in range(2))
    t = ember.tensor(np.float32(2.0))
    g, runs = _runs(f, a, b, t)
    assert len(runs) == 1
    (run,) = runs.values()
    assert len(run.small_outs) >= 1  # c, read after the chain
    want = f(a, b, t)
    got = ember.jit(f)(a, b, t)
    for u, w in zip(got, want):
        np.testing.assert_array_equal(u.numpy(), w.numpy())


def test_plan_line_names_the_run(small_pieces):
    g, _ = _runs(_adam_like, *_args())
    src = compile_plan(g).source
    # one plan line for the whole chain (def, that line, return): no ufunc called by itself
    assert len(src.strip().splitlines()) == 3, src


def test_no_equation_writes_into_a_scratch_result_of_a_chain(small_pieces, monkeypatch):
    # the in-place analysis may offer a later equation the buffer of a value that died inside
    # a chain; run piece by piece, the chain never makes that value as a whole array, so the
    # plan must allocate instead (it read an undefined variable: a ResNet's replayed backward)
    import ember.transforms.staging.codegen as codegen

    def f(a, b, c):
        t = a * 2.0
        u = t + b  # t dies inside the chain
        return u.sum(), u * c, u - c  # u * c: c broadcast, not in the chain

    def offering(g, donated=()):
        got = dict(_inplace_targets(g, donated))
        k = next(i for i, e in enumerate(g.eqns) if len(e.ins) == 2 and
                 getattr(e.ins[1], "aval", None) is not None and e.ins[1].aval.shape == (60, 1))
        got[k] = g.eqns[0].outs[0]  # t's buffer, dead by then
        return got
    monkeypatch.setattr(codegen, "_inplace_targets", offering)
    a, b, c = ember.randn(60, 60), ember.randn(60, 60), ember.randn(60, 1)
    for got, want in zip(ember.jit(f)(a, b, c), f(a, b, c)):
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def _two_params_sgd(p1, p2, g1, g2, b1, b2):
    # the functional optimizers' order: every update first, then every application
    n1, n2 = b1 * 0.9 + g1, b2 * 0.9 + g2
    u1, u2 = n1 * -0.01, n2 * -0.01
    return p1 + u1, p2 + u2, n1, n2


def _jit_gives_the_eager_bits(args):
    """_two_params_sgd jitted, parameters and momenta donated, twice: the eager bits."""
    want = _two_params_sgd(*args)
    f = ember.jit(_two_params_sgd, donate_argnums=(0, 1, 4, 5))
    for _ in range(2):
        got = f(*[a.clone() for a in args])
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_an_application_joins_its_updates_chain(small_pieces):
    rng = np.random.default_rng(4)
    args = [ember.tensor(rng.standard_normal(s).astype(np.float32))
            for s in [(60, 70), (50, 90)] * 3]  # two parameters of two shapes
    g = optimize(ember.make_graph(_two_params_sgd)(*args))
    runs = pieces.find_runs(g, _inplace_targets(g), _is_elementwise_ufunc)
    assert sum(len(r.span) for r in runs.values()) < len(g.eqns) == 8  # the graph's order:
    # momentum of each, then the updates, then the applications, each one by itself
    h, kinds = pieces.gather_chains(g, _is_elementwise_ufunc)
    runs = pieces.find_runs(h, _inplace_targets(h), _is_elementwise_ufunc, kinds)
    assert runs.keys() == pieces.find_runs(h, _inplace_targets(h), _is_elementwise_ufunc).keys()
    assert len(runs) == 2  # one per parameter: momentum, update and application together
    for run in runs.values():
        assert len(run.span) == 4
        assert len(run.outs) == 2  # the new parameter and momentum; the update is scratch
    src = compile_plan(g).source  # (compile_plan gathers the chains itself)
    assert len(src.strip().splitlines()) == 4, src  # def, two runs, return
    _jit_gives_the_eager_bits(args)


def test_gathering_keeps_every_operand_made_before_its_reader(small_pieces):
    def f(a, b, c):
        u = a * 2 + 1  # a chain
        m = b @ c      # a product (no chain) made after it
        return u * 3 - m, u.sum()  # reads u last but needs m: stays after the product

    rng = np.random.default_rng(5)
    a, b, c = (ember.tensor(rng.standard_normal((80, 80)).astype(np.float32))
               for _ in range(3))
    g = optimize(ember.make_graph(f)(a, b, c))
    h, _ = pieces.gather_chains(g, _is_elementwise_ufunc)
    made = {id(v) for v in h.invars}
    for e in h.eqns:
        assert all(not isinstance(x, Var) or id(x) in made for x in e.ins)
        made.update(id(o) for o in e.outs)
    want = f(a, b, c)
    for u, w in zip(ember.jit(f)(a, b, c), want):
        np.testing.assert_array_equal(u.numpy(), w.numpy())


# ---- the compiled run (numba_kernels.ew_run) -------------------------------------------------

@pytest.fixture
def ew_calls(kernels_on, monkeypatch):
    """The kernels on; the list of ew_run calls' (start, stop)."""
    pytest.importorskip("numba")
    calls = []
    run = kernels_on.ew_run
    monkeypatch.setattr(kernels_on, "ew_run",
                        lambda *a: calls.append(a[4:6]) or run(*a))
    return calls


def test_float32_arithmetic_runs_compiled(ew_calls, small_pieces, monkeypatch):
    # an Adam-like chain of float32 arithmetic: one compiled call, the eager bits, in
    # donated buffers; float64, or a ufunc the compiled run does not take: the ufuncs
    monkeypatch.setattr(threads, "cores", 1)
    args = _args(shape=(200, 100), seed=6)
    g, runs = _runs(_adam_like, *args)
    assert len(runs) == 1 and next(iter(runs.values()))._ew is not None
    want = _adam_like(*args)
    f = ember.jit(_adam_like, donate_argnums=(0, 2, 3))
    got = f(*[a.clone() for a in args])
    assert ew_calls == [(0, 20000)]
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    a64 = [ember.tensor(a.numpy().astype(np.float64)) for a in args[:4]] + [args[4]]
    (run,) = _runs(_adam_like, *a64)[1].values()
    assert run._ew is None
    for a, b in zip(ember.jit(_adam_like)(*a64), _adam_like(*a64)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    (run,) = _runs(lambda a, b: ember.exp(a * 2.0) + b * 3.0, *args[:2])[1].values()
    assert run._ew is None
    assert len(ew_calls) == 1


def test_independent_updates_in_one_run_are_grouped(ew_calls, small_pieces, monkeypatch):
    # two parameters of one shape: both updates and applications gather into one chain; the
    # compiled run takes each parameter's steps as a group of its own (one after the other
    # over all entries), with the eager bits; on two cores, each group split in halves
    monkeypatch.setattr(threads, "cores", 2)
    rng = np.random.default_rng(7)
    args = [ember.tensor(rng.standard_normal((60, 70)).astype(np.float32)) for _ in range(6)]
    h, kinds = pieces.gather_chains(optimize(ember.make_graph(_two_params_sgd)(*args)),
                                    _is_elementwise_ufunc)
    (run,) = pieces.find_runs(h, _inplace_targets(h), _is_elementwise_ufunc, kinds).values()
    assert len(run.span) == 8 and list(run._ew_groups) == [0, 4, 8]
    _jit_gives_the_eager_bits(args)
    assert sorted(ew_calls) == [(0, 2100)] * 2 + [(2100, 4200)] * 2


def test_scratch_rows_link_the_steps_that_share_a_value(ew_calls, small_pieces, monkeypatch):
    # a scratch value made by one step and read by another joins them, whichever arrays
    # they touch: one group; the eager bits
    monkeypatch.setattr(threads, "cores", 1)
    def f(a, b, c):
        t = a * 3.0          # scratch
        return b + t, c * t  # two results that only share t

    rng = np.random.default_rng(8)
    args = [ember.tensor(rng.standard_normal((60, 70)).astype(np.float32)) for _ in range(3)]
    _, runs = _runs(f, *args)
    (run,) = runs.values()
    assert list(run._ew_groups) == [0, 3]
    for a, b in zip(ember.jit(f)(*args), f(*args)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert len(ew_calls) == 1
