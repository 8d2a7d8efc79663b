"""The replayed compiled backward of a repeating eager tape (transforms/tape_plans.py): the
same bits as the walk, and the walk wherever the replay does not apply."""
import sys

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.bench import workloads as W
from ember.transforms import tape_plans as TP


@pytest.fixture
def replay_on():
    prev = TP.set_enabled(True)
    TP.clear()
    yield
    TP.set_enabled(prev)
    TP.clear()


def _train(name, flag, steps=4, batches=None):
    """Weights after ``steps`` eager SGD/Adam steps of a (tiny) reference workload, with the
    replay on or off; the data changes every step (and its batch size when ``batches``)."""
    prev = TP.set_enabled(flag)
    TP.clear()
    try:
        spec = W.resolve(name, True)
        w = W.initial_weights(spec)
        m = W._ember_model(spec, w)
        opt = ember.optim.Adam(m.parameters(), lr=1e-2) if spec.opt == "adam" else \
            ember.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)
        loss_fn = W._ember_loss(spec)
        before = TP.stats["replayed"]
        for i in range(steps):
            b = batches[i] if batches else spec.batch
            x, y = spec.make_data(b, i)
            opt.zero_grad()
            loss_fn(m(ember.tensor(x)), ember.tensor(y)).backward()
            opt.step()
        return {k: v.numpy().copy() for k, v in m.state_dict().items()}, \
            TP.stats["replayed"] - before
    finally:
        TP.set_enabled(prev)
        TP.clear()


@pytest.mark.parametrize("name", ["mnist-mlp", "mnist-cnn", "cifar-lenet", "text-lstm",
                                  "resnet18"])
def test_replay_equals_walk_bit_for_bit(name):
    walked, n_walk = _train(name, False)
    replayed, n_replay = _train(name, True)
    assert n_walk == 0
    assert n_replay == 3  # compiled at the second sighting: steps 2, 3 and 4 replay
    for k in walked:
        np.testing.assert_array_equal(replayed[k], walked[k], err_msg=k)


def test_changed_shape_mid_run_compiles_a_second_tape():
    batches = [8, 8, 8, 5, 5, 5, 8]
    walked, _ = _train("mnist-mlp", False, 7, batches)
    replayed, n = _train("mnist-mlp", True, 7, batches)
    # batch 8: steps 2, 3 and 7 replay; batch 5: steps 5 and 6
    assert n == 5
    for k in walked:
        np.testing.assert_array_equal(replayed[k], walked[k], err_msg=k)


def _mlp():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))


def _grads(model):
    return [p.grad.numpy().copy() for p in model.parameters()]


def _step(model, x, **kw):
    loss = (model(x) ** 2).mean()
    loss.backward(**kw)
    return loss


def test_replay_runs_and_matches_on_repeated_backward(replay_on):
    ref = _mlp()
    m = _mlp()
    xs = [ember.randn(4, 5) for _ in range(4)]
    TP.set_enabled(False)
    for x in xs:
        _step(ref, x)
    TP.set_enabled(True)
    before = TP.stats["replayed"]
    for x in xs:
        _step(m, x)  # grads accumulate across the four passes
    assert TP.stats["replayed"] - before == 3
    for a, b in zip(_grads(m), _grads(ref)):
        np.testing.assert_array_equal(a, b)


def test_retain_graph_backward_twice(replay_on):
    m, ref = _mlp(), _mlp()
    x = ember.randn(4, 5)
    for model, flag in ((ref, False), (m, True)):
        TP.set_enabled(flag)
        TP.clear()
        loss = (model(x) ** 2).mean()
        for _ in range(3):
            loss.backward(retain_graph=True)
        with pytest.raises(RuntimeError, match="second time"):
            loss.backward()
            loss.backward()
    for a, b in zip(_grads(m), _grads(ref)):
        np.testing.assert_array_equal(a, b)


def test_leaf_hooks_and_post_accumulate_hooks_fire_in_walk_order(replay_on):
    def run(flag):
        TP.set_enabled(flag)
        TP.clear()
        m = _mlp()
        seen = []
        for name, p in m.named_parameters():
            p.register_hook(lambda g, name=name: seen.append(("hook", name)) or g * 2)
            p.register_post_accumulate_grad_hook(
                lambda t, name=name: seen.append(("post", name, float(t.grad.sum()))))
        x = ember.randn(4, 5)
        for _ in range(3):
            seen.append("step")
            _step(m, x)
        return seen, _grads(m)
    walked, gw = run(False)
    replayed, gr = run(True)
    assert TP.stats["replayed"] >= 1
    assert replayed == walked
    for a, b in zip(gr, gw):
        np.testing.assert_array_equal(a, b)


def plan_frame():
    """The frame of the compiled plan this call runs inside, or None."""
    f = sys._getframe(1)
    while f is not None:
        if f.f_code.co_filename == "<ember.jit plan>":
            return f
        f = f.f_back
    return None


def _between(frame, first, last):
    """The plan's source lines strictly between lines ``first`` and ``last`` (1-based)."""
    src = frame.f_globals["plan"].source if "plan" in frame.f_globals else None
    assert src is not None
    return src.splitlines()[first:last - 1]


def test_post_accumulate_hooks_fire_mid_plan_as_in_the_walk(replay_on):
    """Under the replay each leaf's hooks run inside the plan, right after the step that
    finishes its gradient: the last layer's hooks fire while the plan still has the first
    layers' gradients to compute (DistributedDataParallel's overlap), and what every hook
    sees (which leaves already have a .grad) is what it sees under the walk."""
    def run(flag):
        TP.set_enabled(flag)
        TP.clear()
        ember.manual_seed(0)
        m = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(),
                          nn.Linear(8, 3))
        named = list(m.named_parameters())
        seen, where = [], []
        for name, p in named:
            def hook(t, name=name):
                seen.append((name, [n for n, q in named if q.grad is not None]))
                f = plan_frame()
                where[-1].append(None if f is None else (f.f_lineno, f))
            p.register_post_accumulate_grad_hook(hook)
        x = ember.randn(4, 5)
        for _ in range(3):
            m.zero_grad()
            seen.append("step")
            where.append([])
            _step(m, x)
        return seen, where
    walked, w_where = run(False)
    replayed, r_where = run(True)
    assert replayed == walked
    assert walked[1] == ("4.weight", ["4.weight"])  # the last layer's weight first
    assert all(w is None for step in w_where for w in step)
    assert all(w is None for w in r_where[0])  # seen once: walked
    for step in r_where[1:]:  # replayed: every hook inside the plan, at increasing lines
        lines = [w[0] for w in step]
        assert len(lines) == 6 and lines == sorted(lines), lines
        # between the first hook and the last, the plan computes the other layers' gradients
        kernels = [ln for ln in _between(step[0][1], lines[0], lines[-1])
                   if "_emit(" not in ln and not ln.strip().startswith("del ")]
        assert kernels, _between(step[0][1], lines[0], lines[-1])


def test_optimizer_step_in_post_accumulate_hooks_equals_the_walk(replay_on):
    """PyTorch's optimizer-in-backward pattern: each parameter's post-accumulate hook updates
    it in place and drops its .grad while the replayed plan still runs; the plan reads no
    parameter after its hook (the walk's order), so the weights are the walk's bits."""
    def run(flag):
        TP.set_enabled(flag)
        TP.clear()
        ember.manual_seed(0)
        m = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(),
                          nn.Linear(8, 3))
        opts = {}
        for p in m.parameters():
            opts[p] = ember.optim.SGD([p], lr=0.1, momentum=0.9)

            def hook(t):
                opts[t].step()
                opts[t].zero_grad()
            p.register_post_accumulate_grad_hook(hook)
        for i in range(4):
            ember.manual_seed(10 + i)
            _step(m, ember.randn(4, 5))
        return [p.detach().numpy().copy() for p in m.parameters()]
    n = TP.stats["replayed"]
    walked = run(False)
    replayed = run(True)
    assert TP.stats["replayed"] - n == 3
    for a, b in zip(replayed, walked):
        np.testing.assert_array_equal(a, b)


def test_hook_on_a_non_leaf_added_mid_run_walks(replay_on):
    m = _mlp()
    x = ember.randn(4, 5)
    for _ in range(3):
        _step(m, x)
    n = TP.stats["replayed"]
    assert n >= 1
    seen = []
    h = m[0](x)
    h.register_hook(lambda g: seen.append(g.shape))
    (m[2](m[1](h)) ** 2).mean().backward()
    assert seen == [(4, 7)] and TP.stats["replayed"] == n  # walked: the hook ran
    # retain_grad on an intermediate: walked too, and its .grad is there
    h = m[0](x)
    h.retain_grad()
    (m[2](m[1](h)) ** 2).mean().backward()
    assert h.grad is not None and TP.stats["replayed"] == n
    _step(m, x)  # the usual tape again: replayed
    assert TP.stats["replayed"] == n + 1


def test_fallbacks_walk(replay_on):
    m = _mlp()
    x = ember.randn(4, 5)
    for _ in range(3):
        _step(m, x)
    n = TP.stats["replayed"]
    # autograd.grad, backward(inputs=), create_graph
    loss = (m(x) ** 2).mean()
    gs = ember.autograd.grad(loss, list(m.parameters()))
    assert len(gs) == 4
    _step(m, x, inputs=list(m.parameters()))
    _step(m, x, create_graph=True)
    # anomaly mode (another VJP executor)
    with ember.autograd.detect_anomaly():
        _step(m, x)
    # two roots
    ember.autograd.backward([(m(x) ** 2).mean(), m(x).sum()])
    assert TP.stats["replayed"] == n


def test_custom_function_walks(replay_on):
    calls = []

    class Square(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            calls.append(1)
            (x,) = ctx.saved_tensors
            return 2 * x * g

    w = ember.tensor([1., 2., 3.], requires_grad=True)
    n = TP.stats["replayed"]
    for _ in range(3):
        (Square.apply(w) * 3).sum().backward()
    assert TP.stats["replayed"] == n
    np.testing.assert_array_equal(w.grad.numpy(), np.array([18., 36., 54.], np.float32))


def test_in_place_modification_is_still_reported(replay_on):
    w = ember.tensor([1., 2.], requires_grad=True)
    for _ in range(3):
        (w.exp() * 2).sum().backward()
    y = w.exp()
    z = (y * 2).sum()
    with ember.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.backward()


def test_disabled_replay_never_compiles():
    prev = TP.set_enabled(False)
    try:
        TP.clear()
        m = _mlp()
        x = ember.randn(4, 5)
        for _ in range(3):
            _step(m, x)
        assert not TP._plans
    finally:
        TP.set_enabled(prev)


def test_saved_tensors_hooks_walk(replay_on):
    def run(flag):
        TP.set_enabled(flag)
        TP.clear()
        m = _mlp()
        x = ember.randn(4, 5)
        log = []

        def pack(t):
            log.append("pack")
            return np.array(t.detach().numpy())

        def unpack(a):
            log.append("unpack")
            return ember.tensor(a)
        for _ in range(3):
            _step(m, x)
            with ember.autograd.graph.saved_tensors_hooks(pack, unpack):
                loss = (m(x) ** 2).mean()
            loss.backward()
        return log, _grads(m)
    walked, gw = run(False)
    n = TP.stats["replayed"]
    replayed, gr = run(True)
    assert replayed == walked and "unpack" in walked
    assert TP.stats["replayed"] == n + 2  # the plain steps 2 and 3 only
    for a, b in zip(gr, gw):
        np.testing.assert_array_equal(a, b)


def test_ddp_buckets_with_the_replay(monkeypatch):
    """DistributedDataParallel (a world of one): its grad sinks and post-accumulate hooks see
    the replayed backward as the walk; the weights are the walk's bits."""
    dist = pytest.importorskip("ember.distributed")
    from ember.nn.parallel import DistributedDataParallel as DDP
    for k in ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MV2_COMM_WORLD_SIZE",
              "MPI_LOCALNRANKS", "WORLD_SIZE", "RANK", "EMBER_DIST_MPI"):
        monkeypatch.delenv(k, raising=False)
    if dist.is_initialized():
        dist.destroy_process_group()
    dist.init_process_group()
    try:
        def run(flag):
            TP.set_enabled(flag)
            TP.clear()
            n = TP.stats["replayed"]
            m = DDP(_mlp(), bucket_cap_mb=0.0001)
            opt = ember.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
            for i in range(4):
                ember.manual_seed(i)
                x = ember.randn(6, 5)
                opt.zero_grad()
                (m(x) ** 2).mean().backward()
                opt.step()
            return [p.detach().numpy().copy() for p in m.parameters()], TP.stats["replayed"] - n
        walked, nw = run(False)
        replayed, nr = run(True)
        assert nw == 0 and nr == 3
        for a, b in zip(replayed, walked):
            np.testing.assert_array_equal(a, b)
    finally:
        TP.set_enabled(True)
        dist.destroy_process_group()


def test_changing_tapes_back_off_then_a_repeating_one_compiles(replay_on):
    w = ember.randn(3, requires_grad=True)
    for n in range(1, TP._BACKOFF + 1):  # a new tape every time
        (w * ember.ones(n, 3)).sum().backward()
    assert TP._skip[0] == TP._BACKOFF - 1
    keyed = dict(TP._sightings)
    for _ in range(TP._BACKOFF - 1):  # not keyed while backing off
        (w * ember.ones(1, 3)).sum().backward()
    assert TP._sightings == keyed and TP._skip[0] == 0
    n = TP.stats["replayed"]
    for _ in range(3 * TP._BACKOFF):  # a tape seen before: keyed again, compiled, replayed
        (w * ember.ones(1, 3)).sum().backward()
    assert TP.stats["replayed"] > n
    ref = ember.tensor(np.full(3, TP._BACKOFF * (TP._BACKOFF + 1) / 2 + 4 * TP._BACKOFF - 1,
                               np.float32))
    np.testing.assert_array_equal(w.grad.numpy(), ref.numpy())


def _compiled_after(shapes):
    """How many tapes were compiled after each backward of ``(w * ones(n, 3)).sum()`` for
    ``n`` in ``shapes``, and the gradient accumulated in ``w``."""
    w = ember.randn(3, requires_grad=True)
    start, counts = TP.stats["compiled"], []
    for n in shapes:
        (w * ember.ones(n, 3)).sum().backward()
        counts.append(TP.stats["compiled"] - start)
    return counts, w.grad.numpy()


def test_a_tape_repeating_back_to_back_compiles_at_its_second_sighting(replay_on):
    counts, g = _compiled_after([2, 2, 2])
    assert counts == [0, 1, 1]
    np.testing.assert_array_equal(g, np.full(3, 6, np.float32))


def test_tapes_taking_turns_compile_at_their_third_sighting(replay_on):
    # two backwards per step (a GAN's, a model beside a reference): each returns every 2nd
    counts, g = _compiled_after([1, 2] * 4)
    assert counts == [0, 0, 0, 0, 1, 2, 2, 2]
    np.testing.assert_array_equal(g, np.full(3, 12, np.float32))


def test_tapes_that_vary_compile_once_their_sightings_amortize_the_compile(replay_on,
                                                                           monkeypatch):
    # each of 6 shapes returns every 6th backward (> _PERIOD): compiled at its _AMORTIZE-th
    # sighting, not at its second (every backward keyed here: no back-off)
    monkeypatch.setattr(TP, "_BACKOFF", 10 ** 6)
    shapes = [1, 2, 3, 4, 5, 6] * TP._AMORTIZE
    assert len(set(shapes)) > TP._PERIOD
    counts, g = _compiled_after(shapes)
    first = 6 * (TP._AMORTIZE - 1)
    assert counts[first - 1] == 0 and counts[first:first + 6] == [1, 2, 3, 4, 5, 6]
    np.testing.assert_array_equal(g, np.full(3, 21 * TP._AMORTIZE, np.float32))


def test_tapes_that_vary_back_off_from_keying(replay_on):
    # after _BACKOFF backwards keyed and not replayed only one in _BACKOFF is keyed (the
    # sightings counted), until a replay
    w = ember.randn(3, requires_grad=True)
    compiled = TP.stats["compiled"]
    for i in range(TP._BACKOFF * 3):
        (w * ember.ones(1 + i % 6, 3)).sum().backward()
    assert sum(n for n, _, _ in TP._sightings.values()) == TP._BACKOFF + 2
    assert TP.stats["compiled"] == compiled


def test_a_full_table_drops_the_least_recently_replayed_plan(replay_on, monkeypatch):
    monkeypatch.setattr(TP, "_MAX_PLANS", 2)
    w = ember.randn(3, requires_grad=True)

    def back(n):
        (w * ember.ones(n, 3)).sum().backward()
    for n in (1, 1, 2, 2, 1):  # plans for 1 and 2; 1 replayed last
        back(n)
    assert len(TP._plans) == 2
    back(3), back(3)  # a third plan: 2's goes, 1's stays
    assert len(TP._plans) == 2
    n = TP.stats["replayed"]
    back(1)
    assert TP.stats["replayed"] == n + 1
    back(2)
    assert TP.stats["replayed"] == n + 1  # walked: seen again, not compiled yet


def _grads_of(f, args, walk):
    prev = TP.set_enabled(not walk)
    try:
        for a in args:
            a.grad = None
        f(*args).backward()
        return [a.grad.numpy().copy() for a in args]
    finally:
        TP.set_enabled(prev)


def test_an_array_saved_twice_is_one_plan_input(replay_on):
    # relu saves its output and the pool after it saves the same array as its input: the
    # plan takes it once, so its passes see one value (the relu mask moves before the
    # pool's scatter, as in jit's plans), with the walk's bits
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal((4, 3, 8, 8)).astype(np.float32),
                     requires_grad=True)
    w = ember.tensor(rng.standard_normal((3, 3, 3, 3)).astype(np.float32),
                     requires_grad=True)

    def f(x, w):
        h = ember.nn.functional.max_pool2d(ember.relu(ember.nn.functional.conv2d(x, w)), 2)
        return (h * h).sum()

    want = _grads_of(f, [x, w], walk=True)
    for _ in range(3):
        got = _grads_of(f, [x, w], walk=False)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
    (key,) = [k for k, e in TP._plans.items() if type(e) is list]
    alias = key[-1]  # the key records which saved values are one array
    assert all(type(i) is int for i in alias) and any(a != i for i, a in enumerate(alias))


def test_the_same_tape_with_and_without_aliasing_gets_two_plans(replay_on):
    # two leaves on one array, then two leaves on two arrays: the same tape but for which
    # saved values are one array; the first plan (which reads that array once) must not
    # replay the second tape
    def f(a, b):
        return (a * b).sum()

    rng = np.random.default_rng(1)
    arr = rng.standard_normal(5).astype(np.float32)
    a = ember.tensor(arr, requires_grad=True)
    b = a.detach().requires_grad_()  # the same array
    assert b._data is a._data
    c = ember.tensor(rng.standard_normal(5).astype(np.float32), requires_grad=True)
    for other in (b, c):
        for _ in range(3):
            got = _grads_of(f, [a, other], walk=False)
            np.testing.assert_array_equal(got[0], other.detach().numpy())
            np.testing.assert_array_equal(got[1], a.detach().numpy())
    assert len([e for e in TP._plans.values() if type(e) is list]) == 2
