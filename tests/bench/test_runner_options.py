"""ember bench's --batch and --isolate options (tiny sizes)."""
import ember
from ember.bench import runner


def _rows(**kw):
    return runner.run(["linreg"], ["ember-eager", "ember-jit"], rounds=2, steps=1, warmup=1,
                      tiny=True, memory=False, log=lambda *a: None, settle=0.0, **kw)


def test_batch_option_sets_the_samples_per_step():
    rows = _rows(batch=8)
    assert [r["batch"] for r in rows] == [8, 8]
    assert all(r["ms_per_step"] > 0 and r["samples_per_s"] > 0 for r in rows)


def test_isolate_runs_each_framework_in_a_child_process(monkeypatch):
    launched = []
    real = runner.subprocess.run

    def spy(cmd, **kw):
        launched.append(cmd)
        return real(cmd, **kw)
    monkeypatch.setattr(runner.subprocess, "run", spy)
    rows = _rows(batch=4, isolate=True)
    assert len(launched) == 2 and all(c[1] == "-c" for c in launched)
    assert [r["framework"] for r in rows] == ["ember-eager", "ember-jit"]
    assert all(r["batch"] == 4 and r["ms_per_step"] > 0 for r in rows)


def test_blas_kernel_warning_names_a_forced_old_kernel():
    flags = {"avx2", "fma", "sse2"}
    assert ember.backend.blas_kernel_warning("Haswell", flags, {}) is None
    assert ember.backend.blas_kernel_warning("Prescott", {"sse2"}, {}) is None  # an old CPU
    msg = ember.backend.blas_kernel_warning("Katmai", flags, {"OPENBLAS_CORETYPE": "Prescott"})
    assert "Katmai" in msg and "OPENBLAS_CORETYPE=Prescott" in msg and "AVX2" in msg


def test_blas_kernel_warning_names_an_avx2_kernel_on_an_avx512_cpu():
    flags = {"avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"}
    assert ember.backend.blas_kernel_warning("SkylakeX", flags, {}) is None
    assert ember.backend.blas_kernel_warning("Haswell", flags - {"avx512bw"}, {}) is None
    msg = ember.backend.blas_kernel_warning("Haswell", flags, {"OPENBLAS_CORETYPE": "Haswell"})
    assert "AVX-512" in msg and "OPENBLAS_CORETYPE=Haswell is set" in msg and "SkylakeX" in msg
    msg = ember.backend.blas_kernel_warning("Zen", flags, {})
    assert "AVX-512" in msg and "newer NumPy" in msg


def test_distributed_bench_runs_the_gloo_columns_with_the_default_frameworks():
    # the default --frameworks names torch-eager/torch-compile, never plain "torch": the gloo
    # columns must still run (they came out empty when only "torch" was recognised)
    import argparse
    p = argparse.ArgumentParser()
    runner.add_arguments(p)
    argv = runner.distributed_argv(p.parse_args(["--distributed", "--rounds", "2"]))
    assert argv[:2] == ["--rounds", "2"] and "--no-torch" not in argv
    argv = runner.distributed_argv(p.parse_args(["--distributed", "--frameworks", "torch-eager"]))
    assert "--no-torch" not in argv
    argv = runner.distributed_argv(p.parse_args(["--distributed", "--frameworks",
                                                 "ember-eager,jax-jit"]))
    assert "--no-torch" in argv


def test_distributed_report_shows_every_ember_mode_and_marks_the_fastest(capsys):
    from ember.bench import distributed as bd
    pair = lambda v: [v, v * 0.9]  # noqa: E731  (median, fastest)
    wl_single = {m: pair(t) for m, t in zip(bd.MODES, (0.010, 0.009, 0.007))}
    mpi = {"allreduce": {f"{mb} MB": {n: pair(mb * 1e-4) for n in (
        "raw mpi4py Allreduce", "ember dist.all_reduce", "ember DDP bucket")}
        for mb in bd.SIZES_MB},
        "ddp": {wl: {"modes": {m: pair(t) for m, t in zip(bd.MODES + ("eager-buckets",),
                                                           (0.0105, 0.013, 0.010, 0.0104))},
                     "step": pair(0.014), "ddp_reduce": pair(0.001),
                     "several": {"cap_mb": 0.06, "buckets": 4, "ddp_reduce": pair(0.0012)}, "raw_allreduce":
                     pair(0.0009), "grad_bytes": 250000, "buckets": 1, "batch_per_rank": 32}
                for wl in bd.WORKLOADS}}
    runs = {"mpi": [mpi], "single": [{wl: dict(wl_single) for wl in bd.WORKLOADS}],
            "torch": []}
    summary = bd.report(runs, 0, 1)
    out = capsys.readouterr().out
    for wl in bd.WORKLOADS:
        assert summary["ddp"][wl]["fastest"] == "jit"
        assert summary["ddp"][wl]["modes"]["compiled"] == {"single": 0.009, "ddp": 0.013}
    assert out.count("| jit (fastest) | 7.00 | 10.00 | - | - |") == len(bd.WORKLOADS), out
    assert "| eager | 10.00 | 10.50 | 1.00 vs 0.90 (+11%) | 50% |" in out, out
    assert "| eager, 4 buckets (bucket_cap_mb=0.060) | 10.00 | 10.40 | 1.20 vs 0.90 (+33%) | 67% |" \
        in out, out
    assert summary["ddp"]["cifar-lenet"]["several"]["buckets"] == 4


def test_first_call_is_the_first_step_and_build_is_reported_apart(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(runner.time, "perf_counter", lambda: clock[0])

    def builder(w, data, spec):
        clock[0] += 3.0  # making the model and the optimizer

        def step():
            clock[0] += 0.5 if calls else 2.0  # the first call compiles
            calls.append(1)
        return step, lambda: {}
    calls = []
    monkeypatch.setitem(runner.workload_specs.BUILDERS, "ember-jit", builder)
    cell = runner._build_cell("ember-jit", None, None, None, steps=1, warmup=2)
    assert cell["build"] == 3.0 and cell["first"] == 2.0
    head, rows = runner.table([dict(workload="w", framework="f", ms_per_step=500.0,
                                    samples_per_s=1.0, vs_ember_jit=1.0, build_s=3.0,
                                    first_call_s=2.0, first_call_extra_s=1.5)])
    assert rows[0][head.index("build s")] == "3.00"
    assert rows[0][head.index("first call s")] == "2.00"
    assert rows[0][head.index("beyond a step s")] == "1.50"


def test_rows_give_what_the_first_call_costs_beyond_a_step():
    for r in _rows():
        assert r["first_call_extra_s"] == r["first_call_s"] - r["ms_per_step"] / 1e3


def test_check_reports_the_rounding_floor_and_flags_only_what_exceeds_it():
    rows = _rows(check=2)
    # ember eager and jit give the same bits; the floor is what one ulp in the initial
    # weights makes of them after two steps: small but not zero
    assert all(r["check_max_diff"] == 0.0 for r in rows)
    assert all(0.0 < r["check_floor"] < 1e-4 for r in rows)
    assert runner.check_failures(rows) == []
    row = dict(check_max_diff=5e-3, check_floor=2e-3)  # chaotic: within 10x the floor
    assert runner.check_failures([row]) == []
    row = dict(check_max_diff=5e-3, check_floor=1e-5)  # a real disagreement
    assert runner.check_failures([row]) == [row]
    assert runner.check_failures([dict(check_max_diff=5e-4, check_floor=0.0)]) == []


def test_compiled_kernels_load_before_the_first_calls_and_the_log_says_so(monkeypatch):
    from ember.backend import accel
    lines = []

    def run(**kw):
        lines.clear()
        return runner.run(["linreg"], ["ember-jit"], rounds=1, steps=1, warmup=1, tiny=True,
                          memory=False, log=lines.append, settle=0.0, **kw)
    prev = accel.set_enabled(False)  # off (or numba missing): nothing loaded, nothing said
    try:
        run()
        assert not any("compiled kernels" in s for s in lines)
        assert runner._load_kernels("ember-jit") is None
    finally:
        accel.set_enabled(prev)
    assert runner._load_kernels("torch-eager") is None
    if accel.kernels() is None:  # numba not installed (the CI's NumPy-floor run)
        return
    warmed = []
    monkeypatch.setattr(accel, "warm", lambda: warmed.append(1) or accel.kernels())
    run()
    assert warmed and any(s.startswith("  ember: compiled kernels loaded in ") for s in lines)
    run(isolate=True)  # the child process loads them itself and reports the time
    assert any("process loaded the compiled kernels" in s for s in lines)
