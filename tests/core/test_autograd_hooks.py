"""Post-accumulate-grad hooks, end-of-backward callbacks and the VJP executor hook."""
import numpy as np
import pytest

import ember
from ember.core import autograd as A


def test_post_accumulate_grad_hook_sees_the_accumulated_grad():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
    (w * w).sum().backward()
    (w * 3).sum().backward()
    np.testing.assert_array_equal(seen[0], [2.0, 4.0])
    np.testing.assert_array_equal(seen[1], [5.0, 7.0])  # accumulated over both passes
    h.remove()
    (w * 3).sum().backward()
    assert len(seen) == 2


def test_post_accumulate_grad_hook_runs_when_the_leaf_is_done_not_at_the_end():
    events = []
    a = ember.tensor([1.0, 2.0], requires_grad=True)  # used only late in the forward
    b = ember.tensor([3.0, 4.0], requires_grad=True)  # used first: done last in backward
    a.register_post_accumulate_grad_hook(lambda t: events.append("a done"))
    b.register_post_accumulate_grad_hook(lambda t: events.append("b done"))

    def spy(tag):
        def hook(g):
            events.append(tag)
        return hook
    h = ember.exp(b)
    h.register_hook(spy("exp(b) grad"))
    y = (h * a).sum()
    y.backward()
    # a's only edge is the mul node: a is finished before exp's VJP runs
    assert events.index("a done") < events.index("exp(b) grad") < events.index("b done")
    assert events.count("a done") == 1 and events.count("b done") == 1


def test_post_accumulate_grad_hook_waits_for_every_edge_into_the_leaf():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
    (ember.tanh(w) + w * w + ember.exp(w)).sum().backward()
    assert len(seen) == 1
    x = w.detach().numpy()
    np.testing.assert_allclose(seen[0], 1 - np.tanh(x) ** 2 + 2 * x + np.exp(x), rtol=1e-6)


def test_post_accumulate_grad_hook_checks():
    with pytest.raises(RuntimeError, match="doesn't require grad"):
        ember.ones(2).register_post_accumulate_grad_hook(lambda t: None)
    w = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="only leaf tensors"):
        (w * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(TypeError, match="callable"):
        w.register_post_accumulate_grad_hook(3)


def test_post_accumulate_grad_hook_with_retain_graph():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    n = []
    w.register_post_accumulate_grad_hook(lambda t: n.append(t.grad.numpy().copy()))
    y = (ember.tanh(w) * w).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert len(n) == 2
    np.testing.assert_allclose(n[1], 2 * n[0], rtol=1e-6)


def test_post_accumulate_grad_hook_not_run_by_autograd_grad():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    n = []
    w.register_post_accumulate_grad_hook(lambda t: n.append(1))
    (g,) = ember.autograd.grad((w * w).sum(), w)
    np.testing.assert_array_equal(g.numpy(), [2.0, 4.0])
    assert n == [] and w.grad is None  # nothing was accumulated (as PyTorch)


def test_hooks_with_a_jitted_call_recorded_as_one_tape_node():
    @ember.jit
    def f(w, x):
        return ember.tanh(x @ w).sum()

    w = ember.tensor(np.linspace(-1, 1, 6).reshape(3, 2).astype(np.float32),
                     requires_grad=True)
    x = ember.ones(4, 3)
    events = []
    w.register_post_accumulate_grad_hook(lambda t: events.append(("w", t.grad.numpy().copy())))
    for _ in range(2):
        w.grad = None
        ember.autograd.graph.queue_callback  # the documented name exists
        loss = f(w, x) * 2.0
        loss.backward()
    assert [e[0] for e in events] == ["w", "w"]
    ref = ember.tensor(w.detach().numpy(), requires_grad=True)
    (ember.tanh(x @ ref).sum() * 2.0).backward()
    np.testing.assert_allclose(events[-1][1], ref.grad.numpy(), rtol=1e-5)


def test_queue_callback_runs_once_after_the_whole_pass():
    a = ember.tensor([1.0], requires_grad=True)
    b = ember.tensor([2.0], requires_grad=True)
    events = []

    def on_a(t):
        events.append("a")
        ember.autograd.Variable._execution_engine.queue_callback(
            lambda: events.append(("end", a.grad.item(), b.grad.item())))
    a.register_post_accumulate_grad_hook(on_a)
    b.register_post_accumulate_grad_hook(lambda t: events.append("b"))
    (ember.exp(b) * a).sum().backward()
    assert events[-1] == ("end", pytest.approx(np.exp(2.0)), pytest.approx(np.exp(2.0)))
    assert sorted(events[:-1]) == ["a", "b"]
    (a * 1.0).sum().backward()  # the callback is not queued again by itself
    assert events.count("a") == 2 and len([e for e in events if e[0] == "end"]) == 1 + 1


def test_a_callback_may_queue_another_and_they_run_in_order():
    w = ember.ones(1, requires_grad=True)
    log = []

    def first():
        log.append(1)
        ember.autograd.graph.queue_callback(lambda: log.append(3))

    def hook(g):
        ember.autograd.graph.queue_callback(first)
        ember.autograd.graph.queue_callback(lambda: log.append(2))
    w.register_hook(hook)
    (w * 2).sum().backward()
    assert log == [1, 2, 3]


def test_queue_callback_outside_backward_raises():
    with pytest.raises(RuntimeError, match="no backward pass is running"):
        ember.autograd.graph.queue_callback(lambda: None)


def test_variable_returns_a_tensor():
    v = ember.autograd.Variable(ember.ones(2), requires_grad=True)
    assert isinstance(v, ember.Tensor) and v.requires_grad


def test_the_tape_runs_without_the_vjp_executor_with_identical_bits(monkeypatch):
    rng = np.random.default_rng(0)
    wv, xv = rng.standard_normal((5, 4)), rng.standard_normal((3, 5))

    def grads():
        w = ember.tensor(wv.astype(np.float32), requires_grad=True)
        x = ember.tensor(xv.astype(np.float32))
        for _ in range(3):  # the staged plans compile on a signature's second use
            w.grad = None
            (ember.log_softmax(ember.tanh(x @ w), dim=1) * 0.5).sum().backward()
        return w.grad.numpy().copy()
    with_plans = grads()
    assert A._vjp_executor[0] is not None
    prev = A.set_vjp_executor(None)
    try:
        direct = grads()
    finally:
        A.set_vjp_executor(prev)
    np.testing.assert_array_equal(with_plans, direct)


def test_core_imports_nothing_above_it():
    import ast
    import pathlib
    core = pathlib.Path(A.__file__).parent
    upward = []
    for f in sorted(core.glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level == 2 and (module == "backend" or module.startswith("backend.") or
                                        (not module and all(a.name == "backend"
                                                            for a in node.names))):
                    continue  # the array backends sit below core
                if node.level >= 2 or (node.level == 0 and module.startswith("ember") and not
                                       module.startswith(("ember.core", "ember.backend"))):
                    upward.append(f"{f.name}: from {'.' * node.level}{node.module or ''}")
            elif isinstance(node, ast.Import):
                upward += [f"{f.name}: import {a.name}" for a in node.names
                           if a.name.startswith("ember") and
                           not a.name.startswith(("ember.core", "ember.backend"))]
    assert upward == []


def test_grad_sink_accumulates_into_storage_it_owns():
    """A leaf's ``_grad_sink`` (DDP's flat buckets) takes the first-order gradient: it gets
    the gradient in the leaf's dtype and leaves ``.grad`` a view of its own storage; a sink
    that declines (returns False) and create_graph=True take autograd's own path."""
    store = np.zeros(6, np.float32)
    seen = []
    w = ember.tensor([1., 2., 3.], requires_grad=True)

    def sink(leaf, g):
        seen.append(g.dtype)
        view = store[:3]
        if leaf.grad is None:
            np.copyto(view, g._data)
        else:
            np.add(leaf.grad._data, g._data, out=view)
        leaf.grad = ember.Tensor._wrap(view)
        return True
    w._grad_sink = sink
    (w * w).sum().backward()
    (w * w).sum().backward()
    assert np.shares_memory(w.grad._data, store) and store[:3].tolist() == [4., 8., 12.]
    assert seen == [ember.float32] * 2
    w.grad = None
    (w * 3.).sum().backward(create_graph=True)  # not taken: the gradient keeps its graph
    assert len(seen) == 2 and not np.shares_memory(w.grad._data, store)
    w.grad = None
    w._grad_sink = lambda leaf, g: False       # declined: autograd accumulates as usual
    (w * 2.).sum().backward()
    assert w.grad.tolist() == [2., 2., 2.] and not np.shares_memory(w.grad._data, store)
