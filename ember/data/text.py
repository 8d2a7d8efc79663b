"""Text utilities: a basic English tokenizer, ``Vocab``, padding and length bucketing."""
from __future__ import annotations

import re
from collections import Counter

import numpy as np

from ..core.tensor import Tensor

__all__ = ["basic_english_tokenize", "Vocab", "pad_sequences", "bucket_by_length"]

_PATTERNS = [(re.compile(p), r) for p, r in (
    (r"<br\s*/?>", " "), (r"\'", " ' "), (r"\"", ""), (r"\.", " . "), (r",", " , "),
    (r"\(", " ( "), (r"\)", " ) "), (r"!", " ! "), (r"\?", " ? "), (r";", " "), (r":", " "),
    (r"\s+", " "))]


def basic_english_tokenize(text):
    """Lower-case, split off punctuation, split on whitespace (torchtext's basic_english)."""
    s = text.lower()
    for pat, rep in _PATTERNS:
        s = pat.sub(rep, s)
    return s.split()


class Vocab:
    """Token <-> index maps built from token streams: the specials first, then tokens by
    decreasing frequency (ties in first-seen order), keeping those seen ``min_freq`` times,
    at most ``max_size`` besides the specials. Unknown tokens map to ``<unk>``."""

    def __init__(self, token_lists, min_freq=1, max_size=None, specials=("<pad>", "<unk>"),
                 unk="<unk>"):
        counts = Counter()
        for toks in token_lists:
            counts.update(toks)
        self.itos = list(specials)
        seen = set(self.itos)
        ranked = sorted(((t, c) for t, c in counts.items() if c >= min_freq and t not in seen),
                        key=lambda tc: -tc[1])
        if max_size is not None:
            ranked = ranked[:max_size]
        self.itos += [t for t, _ in ranked]
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        self.default_index = self.stoi.get(unk, None)

    def __len__(self):
        return len(self.itos)

    def __contains__(self, token):
        return token in self.stoi

    def __getitem__(self, token):
        i = self.stoi.get(token, self.default_index)
        if i is None:
            raise KeyError(f"Vocab: {token!r} is not in the vocabulary and there is no <unk>")
        return i

    def lookup_indices(self, tokens):
        d = self.default_index
        get = self.stoi.get
        return [get(t, d) for t in tokens]

    def lookup_tokens(self, indices):
        return [self.itos[i] for i in indices]


def pad_sequences(seqs, max_len=None, pad_value=0, truncate="post", padding="post"):
    """Lists of ids -> an int64 (N, max_len) tensor; longer sequences are cut at the end
    (``truncate='post'``) or the start; padding goes after (``padding='post'``) or before."""
    n = max_len if max_len is not None else max((len(s) for s in seqs), default=0)
    out = np.full((len(seqs), n), pad_value, np.int64)
    for i, s in enumerate(seqs):
        s = list(s)[:n] if truncate == "post" else list(s)[-n:] if n else []
        if s:
            if padding == "post":
                out[i, :len(s)] = s
            else:
                out[i, n - len(s):] = s
    return Tensor._wrap(out)


def bucket_by_length(lengths, batch_size, seed=0):
    """Index batches that group sequences of similar length (less padding), in a shuffled but
    seeded order: sort by length within shuffled chunks of 50 batches."""
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(lengths))
    chunk = batch_size * 50
    batches = []
    for s in range(0, len(idx), chunk):
        part = idx[s:s + chunk]
        part = part[np.argsort([lengths[i] for i in part], kind="stable")]
        batches += [part[i:i + batch_size].tolist() for i in range(0, len(part), batch_size)]
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]
