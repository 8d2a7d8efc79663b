"""jit's cache: entries die with their function, a per-function limit with an eager fallback,
a warning naming the argument that keeps changing, clear_cache, and concurrent first calls."""
from functools import partial
import gc
import threading
import warnings
import weakref

import numpy as np
import pytest

import ember
from ember.transforms.staging.jitted import JitRetraceWarning


def _f(x):
    return (x * 2.0 + 1.0).sum()


def test_graphs_are_freed_with_their_jitted_functions():
    refs = []
    for i in range(200):
        w = ember.ones(3, requires_grad=(i % 2 == 0))  # half of them also take the tape path
        jf = ember.jit(lambda x, w=w: (x * w).sum())
        out = jf(ember.arange(3.0))
        if i % 2 == 0:
            out.backward()
        jf(ember.arange(3.0))
        for entries in jf.cache.values():
            for e in entries:
                refs.append(weakref.ref(e.graph))
                refs.append(weakref.ref(e))
                if e.grad_plan is not None:
                    refs.append(weakref.ref(e.grad_plan.fwd_graph))
        del jf, out, w, entries, e
    assert len(refs) == 500
    gc.collect()
    alive = sum(r() is not None for r in refs)
    assert alive == 0, f"{alive} of {len(refs)} graphs/entries still alive"


def test_cache_limit_warns_names_the_argument_and_falls_back_to_eager():
    jf = ember.jit(_f, cache_limit=3)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        for n in range(1, 7):
            x = ember.arange(float(n))
            np.testing.assert_allclose(jf(x).numpy(), _f(x).numpy())
    assert jf.trace_count == 3 and len(jf.cache) == 3
    msgs = [str(w.message) for w in rec if issubclass(w.category, JitRetraceWarning)]
    limit = [m for m in msgs if "cache limit" in m]
    assert len(limit) == 1, msgs  # once, not per call
    assert "jit(_f)" in limit[0] and "x: float32[3] -> float32[4]" in limit[0]
    assert "x (3x)" in limit[0] and "cache_limit" in limit[0]
    # the cached signatures still run compiled
    jf(ember.arange(2.0))
    assert jf.trace_count == 3


def test_cache_limit_from_config_and_validation(monkeypatch):
    monkeypatch.setattr(ember.transforms.config, "cache_limit", 2)  # the owner of jit's switches
    assert ember.config.cache_limit == 2  # read through ember.config
    jf = ember.jit(_f)
    with pytest.warns(JitRetraceWarning, match="cache limit"):
        for n in range(1, 5):
            jf(ember.arange(float(n)))
    assert len(jf.cache) == 2
    with pytest.raises(ValueError, match="cache_limit must be a positive int"):
        ember.jit(_f, cache_limit=0)


def test_fallback_past_the_limit_keeps_stateful_semantics():
    """Past the limit a call with a stateful draw runs eagerly with the plan's keys: the
    same numbers as jit(f, debug=True) from the same seed."""
    def f(x):
        return ember.nn.functional.dropout(x, 0.5, training=True)
    jf = ember.jit(f, cache_limit=1)
    dbg = ember.jit(f, debug=True)
    jf(ember.ones(2))
    with pytest.warns(JitRetraceWarning):
        ember.manual_seed(3)
        a = jf(ember.ones(5))
    ember.manual_seed(3)
    b = dbg(ember.ones(5))
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_retrace_warning_by_default_names_the_changing_argument(monkeypatch):
    monkeypatch.setattr(ember.transforms.config, "retrace_warning", 3)

    def g(params, batch):
        return (params["w"] * batch).sum()
    jg = ember.jit(g)
    w = {"w": ember.ones(1)}
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        for n in range(1, 6):
            jg(w, ember.ones(n))
    msgs = [str(r.message) for r in rec if issubclass(r.category, JitRetraceWarning)]
    assert len(msgs) == 1, msgs
    assert "traced 3 times" in msgs[0] and "batch: float32[2] -> float32[3]" in msgs[0]
    assert "batch (2x)" in msgs[0]


def test_clear_cache():
    jf = ember.jit(_f)
    jf.clear_cache()  # (jit(_f) is shared with the other tests of this file)
    x = ember.arange(3.0)
    jf(x), jf(x)
    assert jf.trace_count == 1 and len(jf.cache) == 1
    jf.clear_cache()
    assert len(jf.cache) == 0 and jf._fast is None
    np.testing.assert_allclose(jf(x).numpy(), _f(x).numpy())
    assert jf.trace_count == 1 and len(jf.cache) == 1


def test_first_calls_from_four_threads():
    traced = []

    def f(x):
        traced.append(1)
        return (x * x).sum()
    jf = ember.jit(f)
    x = ember.arange(4.0)
    results, errors = [None] * 4, []
    start = threading.Barrier(4)

    def work(i):
        try:
            start.wait()
            for _ in range(20):
                results[i] = jf(x).item()
        except Exception as e:  # reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert results == [14.0] * 4
    assert jf.trace_count == 1 and len(traced) == 1


def test_jit_of_the_same_function_shares_one_cache_as_in_jax():
    traced = []

    def f(x):
        traced.append(1)
        return x * 2
    for _ in range(3):  # jit(f)(x) written inside a loop traces once
        np.testing.assert_allclose(ember.jit(f)(ember.ones(2)).numpy(), [2., 2.])
    assert len(traced) == 1
    assert ember.jit(f) is ember.jit(f) and ember.jit(f, static_argnums=0) is not ember.jit(f)
    # a wrapper made with functools.wraps (which copies f's attributes) gets its own
    import functools

    @functools.wraps(f)
    def g(x):
        return f(x) + 1
    np.testing.assert_allclose(ember.jit(g)(ember.ones(2)).numpy(), [3., 3.])
    # a new function object (a lambda made per call) is a new cache
    assert ember.jit(lambda x: x) is not ember.jit(lambda x: x)


def test_a_jitted_function_in_a_class_body_is_a_method():
    class Model:
        def __init__(self, scale):
            self.scale = scale

        def __hash__(self):
            return hash(self.scale)

        def __eq__(self, other):
            return isinstance(other, Model) and other.scale == self.scale

        @ember.jit
        def plain(self, y):  # self is an unknown object: a static argument
            return y * self.scale

        @partial(ember.jit, static_argnums=0)
        def static(self, y):
            return y * self.scale
    m = Model(3.)
    assert m.plain(ember.tensor(2.)).item() == 6.
    assert m.static(ember.tensor(2.)).item() == 6.
    assert Model(4.).static(ember.tensor(2.)).item() == 8.
    assert isinstance(Model.__dict__["static"], type(ember.jit(lambda x: x)))
