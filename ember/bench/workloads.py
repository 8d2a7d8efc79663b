"""The reference workloads, written once per framework from the same initial weights (PyTorch's
state_dict layout, as NumPy arrays) and the same batch.

Each ``build_<framework>(w, data, spec)`` returns ``(step, weights)``: ``step()`` runs one
full training step (forward, loss, backward, update) and blocks until it is done;
``weights()`` returns the current parameters as NumPy arrays keyed like the state_dict.
"""
from __future__ import annotations

import numpy as np


class Spec:
    def __init__(self, name, batch, make_model, opt, lr, loss, make_data, tiny=None):
        self.name, self.batch, self.make_model = name, batch, make_model
        self.opt, self.lr, self.loss, self.make_data = opt, lr, loss, make_data
        self.tiny = tiny or {}


def _mlp(nn):
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128),
                         nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def _cnn(nn):
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 14 * 14, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def _lenet(nn):
    return nn.Sequential(nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120),
                         nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def _lstm_classifier(nn, vocab):
    class LSTMClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, 100)
            self.lstm = nn.LSTM(100, 128, num_layers=2, batch_first=True)
            self.fc = nn.Linear(128, 2)

        def forward(self, ids):
            out, (h, c) = self.lstm(self.embedding(ids))
            return self.fc(h[-1])
    return LSTMClassifier()


def _resnet18(nn):
    """ResNet-18 (10 classes) with torchvision's module names: ember.models' own for ember, the
    same architecture written here for PyTorch (torchvision is not a dependency)."""
    if nn.__name__.startswith("ember"):
        from ember.models import resnet18
        return resnet18(num_classes=10)

    class BasicBlock(nn.Module):
        def __init__(self, cin, planes, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or cin != planes:
                self.downsample = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False),
                                                nn.BatchNorm2d(planes))

        def forward(self, x):
            y = self.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return self.relu(y + (x if self.downsample is None else self.downsample(x)))

    class ResNet18(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            cin = 64
            for i, planes in enumerate((64, 128, 256, 512)):
                stride = 1 if i == 0 else 2
                setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(cin, planes, stride),
                                                             BasicBlock(planes, planes, 1)))
                cin = planes
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512, 10)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(self.avgpool(x).flatten(1))
    return ResNet18()


def _vgg11(nn):
    """VGG-11 (10 classes) with torchvision's module names, without dropout (so that the
    frameworks' steps can be checked against each other)."""
    if nn.__name__.startswith("ember"):
        from ember.models import vgg11
        return vgg11(num_classes=10, dropout=0.0, init_weights=False)

    class VGG11(nn.Module):
        def __init__(self):
            super().__init__()
            layers, cin = [], 3
            for v in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
                if v == "M":
                    layers.append(nn.MaxPool2d(2, 2))
                else:
                    layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
                    cin = v
            self.features = nn.Sequential(*layers)
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
            self.classifier = nn.Sequential(
                nn.Linear(512 * 49, 4096), nn.ReLU(True), nn.Dropout(0.0),
                nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(0.0), nn.Linear(4096, 10))

        def forward(self, x):
            return self.classifier(self.avgpool(self.features(x)).flatten(1))
    return VGG11()


def _images(shape, classes):
    def make(batch, seed):
        rng = np.random.default_rng(seed)
        return (rng.standard_normal((batch,) + shape).astype(np.float32),
                rng.integers(0, classes, batch).astype(np.int64))
    return make


def _linreg_data(batch, seed):
    x = np.arange(batch, dtype=np.float32).reshape(batch, 1)
    return x, 2 * x + 1


def _tokens(vocab, seq):
    def make(batch, seed):
        rng = np.random.default_rng(seed)
        return (rng.integers(0, vocab, (batch, seq)).astype(np.int64),
                rng.integers(0, 2, batch).astype(np.int64))
    return make


SPECS = {
    "linreg": Spec("linreg", 5, lambda nn: nn.Linear(1, 1), "sgd", 0.01, "mse", _linreg_data),
    "mnist-mlp": Spec("mnist-mlp", 100, _mlp, "sgd_momentum", 0.001, "ce",
                      _images((1, 28, 28), 10), tiny={"batch": 8}),
    "mnist-cnn": Spec("mnist-cnn", 64, _cnn, "adam", 1e-3, "ce", _images((1, 28, 28), 10),
                      tiny={"batch": 4}),
    "cifar-lenet": Spec("cifar-lenet", 32, _lenet, "sgd_momentum", 0.001, "ce",
                        _images((3, 32, 32), 10), tiny={"batch": 4}),
    "text-lstm": Spec("text-lstm", 64, lambda nn: _lstm_classifier(nn, 25000), "adam", 1e-3,
                      "ce", _tokens(25000, 200),
                      tiny={"batch": 4, "seq": 12, "vocab": 50}),
    "resnet18": Spec("resnet18", 16, _resnet18, "sgd_momentum", 0.01, "ce",
                     _images((3, 64, 64), 10), tiny={"batch": 2}),
    "vgg11": Spec("vgg11", 16, _vgg11, "sgd_momentum", 0.01, "ce", _images((3, 64, 64), 10),
                  tiny={"batch": 2}),
}


def resolve(name, tiny, batch=None):
    """The spec, shrunk for smoke tests when ``tiny``, with ``batch`` samples per step when
    given."""
    s = SPECS[name]
    if tiny and s.tiny:
        t = s.tiny
        if name == "text-lstm":
            s = Spec(s.name, t["batch"], lambda nn: _lstm_classifier(nn, t["vocab"]), s.opt,
                     s.lr, s.loss, _tokens(t["vocab"], t["seq"]))
        else:
            s = Spec(s.name, t["batch"], s.make_model, s.opt, s.lr, s.loss, s.make_data)
    if batch is not None and batch != s.batch:
        s = Spec(s.name, int(batch), s.make_model, s.opt, s.lr, s.loss, s.make_data, s.tiny)
    return s


def initial_weights(spec, seed=0):
    """PyTorch-layout weights from ember's default initialisation (seeded)."""
    import ember
    ember.manual_seed(seed)
    return {k: v.numpy().copy() for k, v in spec.make_model(ember.nn).state_dict().items()}


# ---- ember --------------------------------------------------------------------------------

def _ember_model(spec, w):
    import ember
    m = spec.make_model(ember.nn)
    # load_state_dict copies into the module's own storage: the checkpoint's arrays are only
    # wrapped (a copy of each first, as ``tensor`` makes, was VGG-11's 392 MiB classifier
    # weight once more, paged in fresh; PyTorch's cell wraps alike)
    m.load_state_dict({k: ember.from_numpy(v) for k, v in w.items()})
    return m


def _ember_loss(spec):
    import ember
    f = ember.nn.functional
    return f.mse_loss if spec.loss == "mse" else f.cross_entropy


def build_ember_eager(w, data, spec):
    import ember
    m = _ember_model(spec, w)
    x, y = ember.tensor(data[0]), ember.tensor(data[1])
    if spec.opt == "adam":
        opt = ember.optim.Adam(m.parameters(), lr=spec.lr)
    else:
        opt = ember.optim.SGD(m.parameters(), lr=spec.lr,
                              momentum=0.9 if spec.opt == "sgd_momentum" else 0.0)
    loss_fn = _ember_loss(spec)

    def step():
        opt.zero_grad()
        loss = loss_fn(m(x), y)
        loss.backward()
        opt.step()
    return step, lambda: {k: v.numpy().copy() for k, v in m.state_dict().items()}


def build_ember_jit(w, data, spec):
    import ember
    from ember.func import functional_call
    F = ember.optim.functional
    m = _ember_model(spec, w)
    x, y = ember.tensor(data[0]), ember.tensor(data[1])
    # the parameters are the step's arguments; buffers (BatchNorm's running statistics) stay
    # in the module, and the jitted step updates them as an eager step does
    fopt = F.adam(spec.lr) if spec.opt == "adam" else \
        F.sgd(spec.lr, momentum=0.9 if spec.opt == "sgd_momentum" else 0.0)
    loss_fn = _ember_loss(spec)
    # the step's parameters are the module's own arrays (loaded from ``w``), not a second
    # copy: functional_call swaps them in, and only the step reads and (donated) writes them
    params = {k: v.detach() for k, v in m.named_parameters()}
    box = [params, fopt.init(params)]

    def train_step(p, s, x, y):
        g = ember.grad(lambda q: loss_fn(functional_call(m, q, (x,)), y))(p)
        u, s = fopt.update(g, s, p)
        return F.apply_updates(p, u), s
    jstep = ember.jit(train_step, donate_argnums=(0, 1))

    def step():
        box[0], box[1] = jstep(box[0], box[1], x, y)

    def weights():
        out = {k: v.numpy().copy() for k, v in m.state_dict().items()}
        out.update({k: v.numpy().copy() for k, v in box[0].items()})
        return out
    return step, weights


# ---- PyTorch --------------------------------------------------------------------------------

def _torch_model(spec, w):
    import torch
    m = spec.make_model(torch.nn)
    m.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()})  # copied in, as ember's
    return m


def _torch_build(w, data, spec, compiled):
    import torch
    m = _torch_model(spec, w)
    x, y = torch.tensor(data[0]), torch.tensor(data[1])
    if spec.opt == "adam":
        opt = torch.optim.Adam(m.parameters(), lr=spec.lr)
    else:
        opt = torch.optim.SGD(m.parameters(), lr=spec.lr,
                              momentum=0.9 if spec.opt == "sgd_momentum" else 0.0)
    loss_fn = torch.nn.functional.mse_loss if spec.loss == "mse" else \
        torch.nn.functional.cross_entropy
    fwd = torch.compile(m) if compiled else m

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(fwd(x), y)
        loss.backward()
        opt.step()
    return step, lambda: {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}


def build_torch_eager(w, data, spec):
    return _torch_build(w, data, spec, False)


def build_torch_compile(w, data, spec):
    return _torch_build(w, data, spec, True)


# ---- JAX (plain jax.numpy / lax, with optax) ----------------------------------------------

def _jax_forward(spec):
    import jax
    import jax.numpy as jnp
    from jax import lax

    def linear(p, k, x):
        return x @ p[k + ".weight"].T + p[k + ".bias"]

    def conv(p, k, x, pad):
        y = lax.conv_general_dilated(x, p[k + ".weight"], (1, 1), [(pad, pad), (pad, pad)],
                                     dimension_numbers=("NCHW", "OIHW", "NCHW"))
        return y + p[k + ".bias"][None, :, None, None]

    def pool(x):
        return lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    relu = jax.nn.relu
    if spec.name == "linreg":
        return lambda p, x: x @ p["weight"].T + p["bias"]
    if spec.name == "mnist-mlp":
        def f(p, x):
            h = x.reshape(x.shape[0], -1)
            for i, k in enumerate(("1", "3", "5", "7")):
                h = linear(p, k, h)
                if i < 3:
                    h = relu(h)
            return h
        return f
    if spec.name == "mnist-cnn":
        def f(p, x):
            h = pool(relu(conv(p, "0", x, 1))).reshape(x.shape[0], -1)
            return linear(p, "6", relu(linear(p, "4", h)))
        return f
    if spec.name == "cifar-lenet":
        def f(p, x):
            h = pool(relu(conv(p, "0", x, 0)))
            h = pool(relu(conv(p, "3", h, 0))).reshape(x.shape[0], -1)
            return linear(p, "11", relu(linear(p, "9", relu(linear(p, "7", h)))))
        return f

    def lstm_f(p, ids):  # text-lstm
        h = p["embedding.weight"][ids].transpose(1, 0, 2)  # (T, N, E)
        n = ids.shape[0]
        for layer in range(2):
            wi, wh = p[f"lstm.weight_ih_l{layer}"], p[f"lstm.weight_hh_l{layer}"]
            b = p[f"lstm.bias_ih_l{layer}"] + p[f"lstm.bias_hh_l{layer}"]
            xw = h @ wi.T + b
            hid = wh.shape[1]

            def cell(carry, g_x):
                hh, cc = carry
                g = g_x + hh @ wh.T
                i, f, gg, o = jnp.split(g, 4, axis=-1)
                cc = jax.nn.sigmoid(f) * cc + jax.nn.sigmoid(i) * jnp.tanh(gg)
                hh = jax.nn.sigmoid(o) * jnp.tanh(cc)
                return (hh, cc), hh
            z = jnp.zeros((n, hid), h.dtype)
            (hl, _), h = lax.scan(cell, (z, z), xw)
        return linear(p, "fc", hl)
    return lstm_f


def build_jax_jit(w, data, spec):
    import jax
    import jax.numpy as jnp
    import optax
    fwd = _jax_forward(spec)
    x, y = jnp.asarray(data[0]), jnp.asarray(data[1])
    if spec.loss == "mse":
        def loss(p):
            return jnp.mean((fwd(p, x) - y) ** 2)
    else:
        def loss(p):
            return optax.softmax_cross_entropy_with_integer_labels(fwd(p, x), y).mean()
    opt = optax.adam(spec.lr) if spec.opt == "adam" else \
        optax.sgd(spec.lr, momentum=0.9 if spec.opt == "sgd_momentum" else None)
    params = {k: jnp.asarray(v) for k, v in w.items()}
    box = [params, opt.init(params)]

    @jax.jit
    def train_step(p, s):
        g = jax.grad(loss)(p)
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s

    def step():
        box[0], box[1] = train_step(box[0], box[1])
        jax.block_until_ready(box[0])
    return step, lambda: {k: np.asarray(v).copy() for k, v in box[0].items()}


# ---- hand-written NumPy (the floor a framework's step is measured against) -----------------

def build_numpy(w, data, spec):
    """Forward, backward and update written out by hand with in-place NumPy, for the
    workloads whose gradients are short enough to write (linreg, mnist-mlp)."""
    if spec.name not in NUMPY_WORKLOADS:
        raise NotImplementedError(f"no hand-written NumPy step for {spec.name!r}")
    x, y = data
    x = np.ascontiguousarray(x.reshape(x.shape[0], -1), dtype=np.float32)
    lr, n = np.float32(spec.lr), x.shape[0]
    if spec.name == "linreg":
        wt, b = w["weight"].copy(), w["bias"].copy()       # (1, 1), (1,)
        scale = np.float32(2.0 / y.size)
        pred, gw = np.empty_like(y), np.empty_like(wt)

        def step():  # out= throughout: the buffers are the closure's, not the step's
            np.matmul(x, wt.T, out=pred)
            np.add(pred, b, out=pred)
            np.subtract(pred, y, out=pred)
            np.multiply(pred, scale, out=pred)             # dL/dpred of the mean square
            np.matmul(pred.T, x, out=gw)
            np.subtract(wt, np.multiply(gw, lr, out=gw), out=wt)
            np.subtract(b, lr * pred.sum(0), out=b)
        return step, lambda: {"weight": wt.copy(), "bias": b.copy()}

    keys = ("1", "3", "5", "7")
    ws = [w[k + ".weight"].T.copy() for k in keys]          # (in, out), so h @ W
    bs = [w[k + ".bias"].copy() for k in keys]
    bufs = [np.zeros_like(a) for a in ws + bs]              # momentum buffers
    hs = [np.empty((n, a.shape[1]), np.float32) for a in ws]
    gws, gbs = [np.empty_like(a) for a in ws], [np.empty_like(a) for a in bs]
    ghs = [np.empty_like(a) for a in hs[:3]]                # gradients of the hidden layers
    rows, inv_n, mom = np.arange(n), np.float32(1.0 / n), np.float32(0.9)

    def step():
        h = x
        for i in range(4):                                  # forward
            np.matmul(h, ws[i], out=hs[i])
            hs[i] += bs[i]
            if i < 3:
                np.maximum(hs[i], 0, out=hs[i])
            h = hs[i]
        g = hs[3]                                           # softmax cross-entropy gradient
        g -= g.max(1, keepdims=True)
        np.exp(g, out=g)
        g /= g.sum(1, keepdims=True)
        g[rows, y] -= 1
        g *= inv_n
        for i in range(3, -1, -1):                          # backward
            np.matmul((hs[i - 1] if i else x).T, g, out=gws[i])
            np.add.reduce(g, 0, out=gbs[i])
            if i:
                g = np.matmul(g, ws[i].T, out=ghs[i - 1])
                g *= hs[i - 1] > 0
        for p, gr, buf in zip(ws + bs, gws + gbs, bufs):     # SGD, momentum 0.9
            buf *= mom
            buf += gr
            p -= lr * buf
    return step, lambda: {**{k + ".weight": a.T.copy() for k, a in zip(keys, ws)},
                          **{k + ".bias": a.copy() for k, a in zip(keys, bs)}}


NUMPY_WORKLOADS = ("linreg", "mnist-mlp")

BUILDERS = {
    "ember-eager": build_ember_eager,
    "ember-jit": build_ember_jit,
    "torch-eager": build_torch_eager,
    "torch-compile": build_torch_compile,
    "jax-jit": build_jax_jit,
    "numpy": build_numpy,
}
JAX_WORKLOADS = ("linreg", "mnist-mlp", "mnist-cnn", "cifar-lenet", "text-lstm")
SUPPORTS = {"numpy": NUMPY_WORKLOADS, "jax-jit": JAX_WORKLOADS}
"""Frameworks that only implement some workloads."""
REQUIRES = {"torch-eager": ("torch",), "torch-compile": ("torch",), "jax-jit": ("jax", "optax")}
