"""``WeightedRandomSampler`` (PyTorch's): indices drawn with the given weights."""
from __future__ import annotations

import numpy as np

from ..core.tensor import Tensor
from .dataloader import Sampler, _seed_from

__all__ = ["WeightedRandomSampler"]


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices in ``[0, len(weights))``, index ``i`` drawn with probability
    ``weights[i] / sum(weights)``, with replacement (or without: each index at most once).

    >>> g = ember.Generator().manual_seed(0)
    >>> s = ember.data.WeightedRandomSampler([0., 1., 0., 3.], num_samples=5, generator=g)
    >>> len(s), sorted(set(s))
    (5, [1, 3])
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"WeightedRandomSampler: num_samples must be a positive int, got "
                             f"{num_samples!r}")
        if not isinstance(replacement, bool):
            raise ValueError(f"WeightedRandomSampler: replacement must be a bool, got "
                             f"{replacement!r}")
        w = np.asarray(weights.numpy() if isinstance(weights, Tensor) else weights, np.float64)
        if w.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights must be 1-d, got shape {w.shape}")
        if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and "
                             "not all zero")
        if not replacement and num_samples > int((w > 0).sum()):
            raise ValueError(f"WeightedRandomSampler: cannot draw {num_samples} indices without "
                             f"replacement from {int((w > 0).sum())} of non-zero weight")
        super().__init__(None)
        self.weights = w
        self.num_samples, self.replacement, self.generator = num_samples, replacement, generator

    def __iter__(self):
        rng = np.random.default_rng(_seed_from(self.generator))
        p = self.weights / self.weights.sum()
        idx = rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p)
        return iter(int(i) for i in idx)

    def __len__(self):
        return self.num_samples
