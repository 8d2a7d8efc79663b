"""digits-mlp: an MLP 64-128-64-10 on the bundled 8x8 Digits, the PyTorch way.

    python -m ember.recipes.digits_mlp --epochs 30
"""
from __future__ import annotations

import argparse
import time

import ember
from ember import nn
from ember.data import DataLoader, Digits, TensorDataset

DEFAULTS = dict(epochs=30, batch_size=32, lr=0.05, seed=0)


def build_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64),
                         nn.ReLU(), nn.Linear(64, 10))


def evaluate(model, loader):
    model.eval()
    correct = total = 0
    loss_sum = 0.0
    with ember.no_grad():
        for x, y in loader:
            logits = model(x)
            loss_sum += nn.functional.cross_entropy(logits, y, reduction="sum").item()
            correct += int((logits.numpy().argmax(1) == y.numpy()).sum())
            total += y.shape[0]
    model.train()
    return loss_sum / total, correct / total


def train(epochs=30, batch_size=32, lr=0.05, seed=0, log=print, progress=True):
    ember.manual_seed(seed)
    train_ds = TensorDataset(*Digits(train=True).tensors())
    test_ds = TensorDataset(*Digits(train=False).tensors())
    train_loader = DataLoader(train_ds, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(test_ds, batch_size=256)
    model = build_model()
    opt = ember.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    history = []
    bar = _progress(epochs) if progress else None
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        running = 0.0
        for x, y in train_loader:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            running += loss.item() * y.shape[0]
        test_loss, test_acc = evaluate(model, test_loader)
        rec = dict(epoch=epoch, train_loss=running / len(train_ds), test_loss=test_loss,
                   test_acc=test_acc,
                   samples_per_s=len(train_ds) / (time.perf_counter() - t0))
        history.append(rec)
        if bar is not None:
            bar.set_postfix(loss=f"{rec['train_loss']:.4f}", test_acc=f"{test_acc:.4f}")
            bar.update(1)
        else:
            log(f"epoch {epoch:3d}  train loss {rec['train_loss']:.4f}  test loss "
                f"{test_loss:.4f}  test acc {test_acc:.4f}  "
                f"({rec['samples_per_s']:.0f} samples/s)")
    if bar is not None:
        bar.close()
    log(f"test accuracy: {history[-1]['test_acc']:.4f}")
    return model, history


def _progress(total):
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="digits-mlp", unit="epoch")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    for k, v in DEFAULTS.items():
        p.add_argument("--" + k.replace("_", "-"), type=type(v), default=v)
    a = p.parse_args(argv)
    train(a.epochs, a.batch_size, a.lr, a.seed)


if __name__ == "__main__":
    main()
