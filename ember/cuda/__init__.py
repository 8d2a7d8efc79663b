"""``ember.cuda``: PyTorch's CUDA queries. This build has no CUDA backend (a CuPy backend is
the planned GPU backend, one file in ``ember/backend/``), so no CUDA device is available."""
from __future__ import annotations

from .. import backend as _backend


def is_available() -> bool:
    """Whether a CUDA device can be used: a registered ``cuda`` backend that says so (none
    ships in this build, so False)."""
    return "cuda" in _backend.available() and _backend.get("cuda").is_available()


def device_count() -> int:
    """The number of CUDA devices: 0 in this build."""
    return 0


def is_initialized() -> bool:
    return False


def manual_seed(seed: int) -> None:
    """Seed the CUDA generators: with no CUDA device there is nothing to seed (PyTorch
    ignores the call likewise when CUDA is unavailable)."""


manual_seed_all = manual_seed


def _no_cuda(what):
    raise RuntimeError(f"ember.cuda.{what}(): no CUDA device in this build of ember "
                       f"(ember.cuda.is_available() is False)")


def current_device() -> int:
    _no_cuda("current_device")


def synchronize(device=None) -> None:
    _no_cuda("synchronize")


def get_device_name(device=None) -> str:
    _no_cuda("get_device_name")


def empty_cache() -> None:
    """Release cached CUDA memory: with no CUDA device there is no cache, so nothing to do
    (PyTorch's call is likewise a no-op when CUDA was never initialised)."""

from . import amp  # noqa: E402,F401  (torch.cuda.amp: the older mixed-precision spelling)
