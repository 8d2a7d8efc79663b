"""text-lstm: sentiment from text: embedding 100, 2-layer LSTM hidden 128, linear 128->2 on the
last hidden state, Adam 1e-3. Data: an IMDB ``aclImdb`` folder, or a label,text CSV such as the
Pang & Lee movie-review polarity corpus (a held-out 20% split).

    ember train --recipe text-lstm --data-dir PATH   (aclImdb folder's parent, or a .csv)
"""
import numpy as np

import ember
from ember import nn
from ember.data import IMDB, TextPolarityCSV
from ember.data.text import Vocab, basic_english_tokenize

NAME = "text-lstm"
DEFAULTS = dict(epochs=10, batch_size=64, lr=1e-3)
MAX_LEN, VOCAB = 200, 25000
_vocab_size = [VOCAB + 2]


def data(args):
    path = args.data_dir
    if path is None:
        raise FileNotFoundError("text-lstm: pass --data-dir with an aclImdb folder (or its "
                                "parent; from https://ai.stanford.edu/~amaas/data/sentiment/"
                                "aclImdb_v1.tar.gz) or a label,text CSV file")
    if path.endswith(".csv"):
        train, test = TextPolarityCSV(path, train=True), TextPolarityCSV(path, train=False)
    else:
        train, test = IMDB(path, split="train"), IMDB(path, split="test")
    tr = [(basic_english_tokenize(t), y) for t, y in train]
    te = [(basic_english_tokenize(t), y) for t, y in test]
    vocab = Vocab((toks for toks, _ in tr), min_freq=2, max_size=VOCAB,
                  specials=("<pad>", "<unk>"))
    _vocab_size[0] = len(vocab)

    def encode(rows):  # the last MAX_LEN tokens (reviews end with the verdict), left-padded
        ids = np.zeros((len(rows), MAX_LEN), np.int64)
        for i, (toks, _) in enumerate(rows):
            seq = vocab.lookup_indices(toks[-MAX_LEN:])
            if seq:
                ids[i, MAX_LEN - len(seq):] = seq
        return ember.tensor(ids), ember.tensor([y for _, y in rows])
    xtr, ytr = encode(tr)
    xte, yte = encode(te)
    return xtr, ytr, xte, yte


class LSTMClassifier(nn.Module):
    def __init__(self, vocab_size, embed=100, hidden=128, layers=2, classes=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed, padding_idx=0)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, ids):
        out, (h, c) = self.lstm(self.embedding(ids))
        return self.fc(h[-1])


def model():
    return LSTMClassifier(_vocab_size[0])


def optimizer(params, lr):
    return ember.optim.Adam(params, lr=lr)


def functional_optimizer(lr):
    return ember.optim.functional.adam(lr)


loss = nn.functional.cross_entropy
