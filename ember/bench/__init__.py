"""``ember bench``: one full training step per reference workload, side by side in ember
eager, ember jit, PyTorch eager, ``torch.compile`` and JAX ``jit``, from identical weights and
data (see ``workloads.py`` and ``runner.py``)."""
