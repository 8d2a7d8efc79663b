"""ember.profiler / ember.autograd.profiler: events, tables, traces, schedules."""
from __future__ import annotations

import json
import os

import pytest

import ember
from ember.core import primitive as _primitive
from ember.profiler import (ProfilerAction, ProfilerActivity, profile, record_function,
                            schedule, tensorboard_trace_handler)

HEADS = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg",
         "# of Calls"]


def _model_step():
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(6, 4), ember.nn.ReLU(), ember.nn.Linear(4, 2))
    x = ember.randn(3, 6)
    return model, x


def _table_lines(text):
    lines = text.rstrip("\n").split("\n")
    return lines


def _columns(header_line):
    return [c.strip() for c in header_line.split("  ") if c.strip()]


def test_forward_backward_and_user_range_events():
    model, x = _model_step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        with record_function("model_inference"):
            loss = model(x).sum()
        loss.backward()
    names = [e.name for e in prof.events()]
    assert "model_inference" in names
    assert names.count("ember::linear") == 2
    assert "ember::relu" in names
    # the backward pass: one event per VJP rule run
    assert names.count("LinearBackward0") == 2
    assert "ReluBackward0" in names and "SumBackward0" in names
    rng = next(e for e in prof.events() if e.name == "model_inference")
    assert rng.is_user_annotation and rng.cpu_parent is None
    kids = {c.name for c in rng.cpu_children}
    assert {"ember::linear", "ember::relu", "ember::sum"} <= kids
    # self time is the total minus the children's
    child_total = sum(c.cpu_time_total for c in rng.cpu_children)
    assert rng.self_cpu_time_total == pytest.approx(rng.cpu_time_total - child_total,
                                                    abs=1e-3)
    for e in prof.events():
        assert e.end_us >= e.start_us >= 0
    # the eager hot path is back to the plain evaluator
    assert _primitive.eval_apply is _primitive._base_eval_apply


def test_nothing_recorded_outside_and_record_function_is_inert():
    x = ember.ones(2)
    with record_function("outside"):
        y = x + 1
    assert y.tolist() == [2.0, 2.0]
    with profile() as prof:
        pass
    assert len(prof.events()) == 0

    @record_function("decorated")
    def f(t):
        return t * 3

    assert f(x).tolist() == [3.0, 3.0]
    with profile() as prof:
        f(x)
    ev = {e.name: e for e in prof.events()}
    assert "decorated" in ev and ev["ember::mul"].cpu_parent is ev["decorated"]


def test_jit_call_is_one_event():
    @ember.jit
    def f(a, b):
        return (a @ b).relu().sum()

    a, b = ember.ones(4, 5), ember.ones(5, 3)
    f(a, b)
    with profile() as prof:
        f(a, b)
    names = [e.name for e in prof.events()]
    assert names == ["ember::jit(f)"]


def test_table_columns_sort_and_row_limit():
    model, x = _model_step()
    with profile(profile_memory=True, record_shapes=True) as prof:
        with record_function("fwd"):
            for _ in range(3):
                model(x)
    ka = prof.key_averages()
    text = ka.table(sort_by="cpu_time_total", row_limit=3)
    lines = _table_lines(text)
    assert set(lines[0]) == {"-", " "} and lines[0] == lines[2] == lines[-2]
    assert _columns(lines[1]) == HEADS[:6] + ["CPU Mem", "Self CPU Mem", "# of Calls"]
    rows = lines[3:-2]
    assert len(rows) == 3
    assert rows[0].split()[0] == "fwd"  # the range holds everything: largest total
    assert lines[-1].startswith("Self CPU time total: ")
    # every row has a value per column, right-aligned to the header's widths
    assert all(len(r) == len(lines[1]) for r in rows)
    lin = next(e for e in ka if e.key == "ember::linear")
    assert lin.count == 6 and lin.cpu_time == pytest.approx(lin.cpu_time_total / 6)
    # float32 outputs (3, 4) and (3, 2), three times each
    assert lin.cpu_memory_usage == 3 * (3 * 4 * 4 + 3 * 2 * 4)
    # sorted by count (descending)
    counts = [int(r.split()[-1]) for r in _table_lines(ka.table(sort_by="count"))[3:-2]]
    assert counts == sorted(counts, reverse=True)
    with pytest.raises(ValueError, match="sort_by"):
        ka.table(sort_by="wall_time")


def test_memory_columns_count_returned_bytes():
    x = ember.ones(10, 10)
    with profile(profile_memory=True) as prof:
        y = x * 2
        y.reshape(100)
    ka = {e.key: e for e in prof.key_averages()}
    assert ka["ember::mul"].cpu_memory_usage == 400
    assert ka["ember::reshape"].cpu_memory_usage == 0  # a view allocates nothing
    text = prof.key_averages().table()
    assert "400 B" in text
    plain = profile()
    with plain:
        x * 2
    assert "CPU Mem" not in plain.key_averages().table()


def test_group_by_input_shape():
    with profile(record_shapes=True) as prof:
        ember.ones(2, 3) + ember.ones(2, 3)
        ember.ones(4) + ember.ones(4)
    groups = [e for e in prof.key_averages(group_by_input_shape=True) if e.key == "ember::add"]
    assert sorted(map(str, (g.input_shapes for g in groups))) == ["[[2, 3], [2, 3]]",
                                                                    "[[4], [4]]"]
    text = prof.key_averages(group_by_input_shape=True).table()
    assert _columns(_table_lines(text)[1])[-1] == "Input Shapes"
    assert "[[4], [4]]" in text
    with profile() as p2:
        ember.ones(2) + 1
    with pytest.raises(ValueError, match="record_shapes"):
        p2.key_averages(group_by_input_shape=True)


def test_chrome_trace_and_tensorboard_handler(tmp_path):
    model, x = _model_step()
    with profile(on_trace_ready=tensorboard_trace_handler(str(tmp_path / "tb"))) as prof:
        with record_function("step"):
            model(x).sum().backward()
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    doc = json.loads(path.read_text())
    xs = [e for e in doc["traceEvents"] if e["ph"] == "X"]
    assert len(xs) == len(prof.events())
    for e in xs:
        assert {"name", "ts", "dur", "pid", "tid"} <= set(e) and e["dur"] >= 0
    assert any(e["name"] == "step" and e["cat"] == "user_annotation" for e in xs)
    files = os.listdir(tmp_path / "tb")
    assert len(files) == 1 and files[0].endswith(".pt.trace.json")
    json.loads((tmp_path / "tb" / files[0]).read_text())


def test_schedule_steps_and_on_trace_ready():
    seen = []

    def ready(p):
        seen.append((p.step_num, sorted({e.name for e in p.events()
                                         if e.name.startswith("ProfilerStep")})))

    x = ember.ones(3)
    with profile(schedule=schedule(wait=1, warmup=1, active=2, repeat=2),
                 on_trace_ready=ready) as prof:
        for _ in range(10):
            x * 2
            prof.step()
    # cycles of 4 steps: steps 2,3 and 6,7 recorded; the trace handed over after 3 and 7
    assert seen == [(4, ["ProfilerStep#2", "ProfilerStep#3"]),
                    (8, ["ProfilerStep#6", "ProfilerStep#7"])]
    assert len([e for e in prof.events() if e.name == "ember::mul"]) == 2


def test_schedule_matches_torch():
    torch = pytest.importorskip("torch")
    for kw in [dict(wait=1, warmup=1, active=3, repeat=2), dict(wait=0, warmup=2, active=1),
               dict(wait=2, warmup=1, active=2, repeat=1, skip_first=3),
               dict(wait=2, warmup=1, active=2, repeat=2, skip_first_wait=1)]:
        mine, theirs = schedule(**kw), torch.profiler.schedule(**kw)
        assert [mine(i).name for i in range(20)] == [theirs(i).name for i in range(20)], kw
    assert ProfilerAction.RECORD_AND_SAVE.name == "RECORD_AND_SAVE"


def test_autograd_profiler_alias_and_errors():
    from ember.autograd import profiler as ap
    with ap.profile(record_shapes=True) as prof:
        with ap.record_function("r"):
            ember.ones(2).exp()
    assert {e.key for e in prof.key_averages()} == {"r", "ember::exp"}
    assert prof.self_cpu_time_total > 0
    assert "Self CPU time total" in prof.table()
    with profile():
        with pytest.raises(RuntimeError, match="already recording"):
            profile().start()
    with pytest.raises(TypeError, match="record_function"):
        record_function(3)
    unfinished = ap.profile()
    with pytest.raises(RuntimeError, match="no results"):
        unfinished.key_averages()


def test_stacks(tmp_path):
    with profile(with_stack=True) as prof:
        ember.ones(2) * 3
    mul = next(e for e in prof.events() if e.name == "ember::mul")
    assert any("test_profiler.py" in f for f in mul.stack)
    text = prof.key_averages(group_by_stack_n=2).table()
    assert "Source Location" in text and "test_profiler.py" in text
    prof.export_stacks(str(tmp_path / "s.txt"))
    assert "ember::mul" in (tmp_path / "s.txt").read_text()


def test_optimizer_steps_are_ranges():
    model, x = _model_step()
    opt = ember.optim.Adam(model.parameters(), lr=1e-3)

    class MySGD(ember.optim.SGD):  # a user's optimizer: its own step is a range too
        def step(self, closure=None):
            return super().step(closure)

    mine = MySGD(model.parameters(), lr=0.1)
    plain_step = ember.optim.Adam.step
    with profile() as prof:
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
        mine.step()
    names = [e.name for e in prof.events()]
    assert "Optimizer.zero_grad#Adam.zero_grad" in names
    assert "Optimizer.step#Adam.step" in names
    # the subclass's step and the library step it calls (both named by the instance's class)
    steps = [e for e in prof.events() if e.name == "Optimizer.step#MySGD.step"]
    assert len(steps) == 2 and steps[1].cpu_parent is steps[0]
    # nothing stays wrapped once the profile ends
    assert ember.optim.Adam.step is plain_step
    assert "step" not in ember.optim.Adam.__dict__ or \
        ember.optim.Adam.__dict__["step"].__name__ == "step"
