"""``ember.nn.utils.rnn`` (PyTorch's ``torch.nn.utils.rnn``): ``pad_sequence``,
``PackedSequence``, ``pack_padded_sequence``, ``pad_packed_sequence``, ``pack_sequence``,
``unpad_sequence``. Packing and unpacking are index gathers, so gradients flow through both.
``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` take a ``PackedSequence`` and return one, as PyTorch's."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ...core.tensor import Tensor
from ...core.creation import tensor as _tensor
from ...ops import indexing as _ix, shape as _sh
from ...ops.elementwise import full_like_traced as _full_like

__all__ = ["PackedSequence", "pad_sequence", "pack_padded_sequence", "pad_packed_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence"]


class PackedSequence(namedtuple("PackedSequence",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """A batch of variable-length sequences stored time step by time step: ``data`` holds
    the steps of all sequences still running (longest first), ``batch_sizes[t]`` how many
    run at step ``t``.

    >>> seqs = [ember.tensor([1., 2., 3.]), ember.tensor([4., 5.])]
    >>> p = ember.nn.utils.rnn.pack_sequence(seqs)
    >>> p.data, p.batch_sizes
    (tensor([1., 4., 2., 5., 3.]), tensor([2, 2, 1]))
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = _tensor(np.argsort(sorted_indices.numpy()).astype(np.int64))
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        return self._replace(data=self.data.to(*args, **kwargs))

    @property
    def is_cuda(self):
        return False


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shape ``(L_i, *)`` into ``(L_max, B, *)`` (``(B, L_max, *)`` with
    ``batch_first``), padding with ``padding_value`` on ``padding_side``.

    >>> ember.nn.utils.rnn.pad_sequence([ember.tensor([1, 2, 3]), ember.tensor([4])],
    ...                                 batch_first=True)
    tensor([[1, 2, 3],
            [4, 0, 0]])
    """
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    seqs = list(sequences)
    if not seqs:
        raise ValueError("pad_sequence: expected a non-empty list of tensors")
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got "
                         f"{padding_side!r}")
    trail = tuple(seqs[0].shape[1:])
    for i, s in enumerate(seqs):
        if not isinstance(s, Tensor) or s.ndim == 0 or tuple(s.shape[1:]) != trail:
            raise ValueError(f"pad_sequence: sequences[{i}] must be a tensor of shape (L, "
                             f"{', '.join(map(str, trail))}{',' if len(trail) == 1 else ''}) "
                             f"like sequences[0], got "
                             f"{tuple(s.shape) if isinstance(s, Tensor) else type(s).__name__}")
    longest = max(s.shape[0] for s in seqs)
    rows = []
    for s in seqs:
        n = longest - s.shape[0]
        if n:
            pad = _full_like(_sh.expand(s[:1], (n,) + trail), padding_value) if s.shape[0] else \
                _tensor(np.full((n,) + trail, padding_value, s.dtype.np))
            s = _ix.cat([s, pad] if padding_side == "right" else [pad, s], 0)
        rows.append(s)
    return _ix.stack(rows, 0 if batch_first else 1)


def _lengths(lengths):
    arr = np.asarray(lengths.numpy() if isinstance(lengths, Tensor) else lengths).astype(np.int64)
    if arr.ndim != 1:
        raise ValueError(f"pack_padded_sequence: lengths must be 1-d, got shape {arr.shape}")
    if (arr <= 0).any():
        raise ValueError(f"pack_padded_sequence: every length must be positive, got "
                         f"{arr.tolist()}")
    return arr


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) of sequences
    of the given lengths. With ``enforce_sorted`` the lengths must be decreasing; otherwise
    the batch is sorted and ``sorted_indices`` records how.

    >>> x = ember.tensor([[1., 2., 3.], [4., 5., 0.]])
    >>> ember.nn.utils.rnn.pack_padded_sequence(x, [3, 2], batch_first=True).data
    tensor([1., 4., 2., 5., 3.])
    """
    lens = _lengths(lengths)
    x = _sh.transpose(input, 0, 1) if batch_first else input
    T, B = x.shape[0], x.shape[1]
    if len(lens) != B:
        raise ValueError(f"pack_padded_sequence: {len(lens)} lengths for a batch of {B}")
    if lens.max() > T:
        raise ValueError(f"pack_padded_sequence: a length ({lens.max()}) exceeds the padded "
                         f"length {T}")
    if enforce_sorted:
        if (np.diff(lens) > 0).any():
            raise RuntimeError(f"pack_padded_sequence: lengths {lens.tolist()} are not sorted in "
                               f"decreasing order; sort the batch or pass enforce_sorted=False")
        order = np.arange(B)
        sorted_idx = None
    else:
        order = np.argsort(-lens, kind="stable")
        sorted_idx = _tensor(order.astype(np.int64))
    slens = lens[order]
    batch_sizes = np.array([(slens > t).sum() for t in range(int(slens[0]))], np.int64)
    flat_index = np.concatenate([t * B + order[:n] for t, n in enumerate(batch_sizes)])
    flat = _sh.reshape(x, (T * B,) + tuple(x.shape[2:]))
    data = _ix.index_select(flat, 0, _tensor(flat_index.astype(np.int64)))
    return PackedSequence(data, _tensor(batch_sizes), sorted_idx,
                          None if sorted_idx is None else _tensor(np.argsort(order).astype(np.int64)))


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of ``pack_padded_sequence``: ``(padded, lengths)`` with the original batch
    order restored; ``total_length`` pads the time dimension further.

    >>> p = ember.nn.utils.rnn.pack_sequence([ember.tensor([1., 2.]), ember.tensor([3.])])
    >>> ember.nn.utils.rnn.pad_packed_sequence(p, batch_first=True)
    (tensor([[1., 2.],
            [3., 0.]]), tensor([2, 1]))
    """
    data, bs = sequence.data, np.asarray(sequence.batch_sizes.numpy()).astype(np.int64)
    T, B = len(bs), int(bs[0])
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"pad_packed_sequence: total_length={total_length} is less than "
                             f"the longest sequence ({T})")
        T_out = total_length
    else:
        T_out = T
    n = data.shape[0]
    gather = np.full((T_out, B), n, np.int64)  # row n is the padding row
    pos = 0
    for t, k in enumerate(bs):
        gather[t, :k] = np.arange(pos, pos + k)
        pos += k
    lengths = (gather[:T] < n).sum(0)
    if sequence.unsorted_indices is not None:
        order = np.asarray(sequence.unsorted_indices.numpy())
        gather, lengths = gather[:, order], lengths[order]
    pad_row = _full_like(_sh.expand(data[:1], (1,) + tuple(data.shape[1:])), padding_value)
    src = _ix.cat([data, pad_row], 0)
    out = _ix.index_select(src, 0, _tensor(gather.reshape(-1)))
    out = _sh.reshape(out, (T_out, B) + tuple(data.shape[1:]))
    if batch_first:
        out = _sh.transpose(out, 0, 1)
    return out, _tensor(lengths.astype(np.int64))


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of tensors ``(L_i, *)`` (``pad_sequence`` then ``pack_padded_sequence``).

    >>> ember.nn.utils.rnn.pack_sequence([ember.tensor([1.]), ember.tensor([2., 3.])],
    ...                                  enforce_sorted=False).batch_sizes
    tensor([2, 1])
    """
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Split a padded batch back into a list of tensors of the given lengths.

    >>> x = ember.tensor([[1, 2], [3, 0]])
    >>> ember.nn.utils.rnn.unpad_sequence(x, ember.tensor([2, 1]), batch_first=True)
    [tensor([1, 2]), tensor([3])]
    """
    x = padded_sequences if batch_first else _sh.transpose(padded_sequences, 0, 1)
    lens = np.asarray(lengths.numpy() if isinstance(lengths, Tensor) else lengths)
    return [x[i, :int(n)] for i, n in enumerate(lens)]


def unpack_sequence(packed_sequences):
    """A ``PackedSequence`` back to a list of tensors (in the original order).

    >>> p = ember.nn.utils.rnn.pack_sequence([ember.tensor([1., 2.]), ember.tensor([3.])])
    >>> ember.nn.utils.rnn.unpack_sequence(p)
    [tensor([1., 2.]), tensor([3.])]
    """
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
