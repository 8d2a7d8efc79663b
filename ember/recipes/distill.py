"""distill: knowledge distillation with few labels. The teacher is the mnist-cnn recipe's model
(trained here on the whole labelled training set, or loaded with ``--teacher CKPT``); the
student is a 784-32-10 MLP that sees only ``--labels`` labelled images (default 2,000, a random
subset drawn per seed). Two arms, the same budget (epochs, batch, Adam lr) and seeds: the
student alone (cross entropy) and the distilled student (``F.distillation_loss`` with T=4,
alpha=0.9: the teacher's softened outputs on the same images plus the labels). Prints and
writes (``results.md``/``results.json`` in ``--out``) the test accuracy of both over the seeds.

    ember train --recipe distill [--teacher runs/mnist-cnn-eager/last.safetensors]
                [--labels 2000] [--seeds 3] [--epochs 30] [--data-dir DIR]
"""
import os

import numpy as np

import ember
from ember import nn
from . import _compare, _mnist, mnist_cnn, trainer

NAME = "distill"
DEFAULTS = dict(epochs=30, batch_size=64, lr=1e-3)
LABELS = 2000
T, ALPHA = 4.0, 0.9
ARMS = ("student alone", "distilled student")


def data(args):
    return _mnist.load(args)


def student():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))


model = student  # the recipe's model (its checkpoints are students: ember quantize reads them)
loss = nn.functional.cross_entropy


def distill_loss(logits, y):
    """Cross entropy for plain labels (evaluation); for the training targets of the distilled
    arm, ``y`` is (N, 1 + classes): the label in column 0, the teacher's logits after it (one
    tensor, so the trainer's batching and the jitted step carry both)."""
    if y.ndim == 1:
        return nn.functional.cross_entropy(logits, y)
    return nn.functional.distillation_loss(logits, y[:, 1:], y[:, 0].long(), T=T, alpha=ALPHA)


def load_teacher(path):
    """The mnist-cnn model with the weights of ``path``: a checkpoint written by ``ember train
    --recipe mnist-cnn`` (its ``model`` entry) or a plain state_dict (safetensors or .pth)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"distill --teacher: no file {path}; train one with `ember "
                                f"train --recipe mnist-cnn` (its last.safetensors), or leave "
                                f"--teacher out to train the teacher here")
    ck = ember.load(path)
    state = ck["model"] if isinstance(ck, dict) and isinstance(ck.get("model"), dict) else ck
    model = mnist_cnn.model()
    try:
        model.load_state_dict(state)
    except (KeyError, RuntimeError, ValueError) as e:
        raise ValueError(f"distill --teacher {path}: not a mnist-cnn model's weights ({e})") \
            from None
    return model


def experiment(args, log=print):
    out = args.out or os.path.join("runs", f"{NAME}-{args.mode}")
    xtr, ytr, xte, yte = data(args)
    if args.limit:
        xtr, ytr = _compare.subset_rows(xtr, slice(0, args.limit)), ytr[:args.limit]
        xte, yte = _compare.subset_rows(xte, slice(0, args.limit)), yte[:args.limit]
    labels = getattr(args, "labels", None) or LABELS
    labels = min(labels, xtr.shape[0])
    if getattr(args, "teacher", None):
        teacher = load_teacher(args.teacher)
        log(f"teacher: mnist-cnn from {args.teacher}")
    else:
        log(f"teacher: training mnist-cnn on {xtr.shape[0]} labelled images "
            f"({mnist_cnn.DEFAULTS['epochs']} epochs, {args.mode})")
        targs = dict(mnist_cnn.DEFAULTS, seed=args.seed, mode=args.mode, progress=False,
                     out=os.path.join(out, "teacher"))
        recipe = _compare.arm_recipe("mnist-cnn", (xtr, ytr, xte, yte), mnist_cnn.model,
                                     mnist_cnn.optimizer, mnist_cnn.functional_optimizer,
                                     mnist_cnn.loss, mnist_cnn.DEFAULTS)
        teacher, _ = _compare._ArmRun(recipe, trainer.Args(**targs)).run(log=_compare._quiet)
    teacher_acc = _compare.accuracy(teacher, xte, yte)
    log(f"teacher test accuracy {teacher_acc:.4f}; student 784-32-10 on {labels} labels, "
        f"{args.epochs} epochs, batch {args.batch_size}, Adam lr {args.lr}, T={T}, "
        f"alpha={ALPHA}")
    table = _compare.Table(f"distill: 784-32-10 student, {labels} labels, teacher mnist-cnn "
                           f"({teacher_acc * 100:.2f}%)", ARMS)
    setting = f"{labels} labels"
    for seed in range(args.seed, args.seed + (getattr(args, "seeds", None) or 3)):
        idx = np.sort(np.random.default_rng(seed).choice(xtr.shape[0], labels, replace=False))
        x, y = _compare.subset_rows(xtr, idx), ytr[idx]
        soft = _compare.predict(teacher, x)
        packed = ember.tensor(np.concatenate([y.numpy()[:, None].astype(np.float32), soft], 1))
        for arm, targets, loss in ((ARMS[0], y, nn.functional.cross_entropy),
                                   (ARMS[1], packed, distill_loss)):
            recipe = _compare.arm_recipe(NAME, (x, targets, xte, yte), student,
                                         lambda p, lr: ember.optim.Adam(p, lr=lr),
                                         lambda lr: ember.optim.functional.adam(lr), loss,
                                         DEFAULTS)
            tag = "alone" if arm == ARMS[0] else "distilled"
            _, acc, secs = _compare.run_arm(recipe, args, os.path.join(out, f"{tag}-seed{seed}"),
                                            seed)
            table.add(setting, arm, seed, acc, secs)
            log(f"seed {seed}  {arm:18s} test acc {acc:.4f}  ({secs:.1f} s)")
    table.write(out, dict(teacher_test_acc=teacher_acc, T=T, alpha=ALPHA, labels=labels,
                          epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                          mode=args.mode))
    log(table.markdown())
    log(f"results in {out}/results.md")
    return teacher, table
