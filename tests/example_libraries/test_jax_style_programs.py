"""Short programs written the way JAX's own examples are (stax networks, optimizers
triples, jitted updates with a step counter, fori_loop epochs, per-example clipped
gradients), run on ember with only `jax` spelled `ember`. No JAX needed; synthetic data."""
import itertools

import numpy as np
import numpy.random as npr

import ember.numpy as jnp
from ember import grad, jit, lax, random, vmap
from ember.example_libraries import optimizers, stax
from ember.example_libraries.stax import Dense, FanOut, LogSoftmax, Relu, Softplus
from ember.tree_util import tree_flatten, tree_unflatten


def _blobs(n, dim=20, classes=4, seed=0):
    """Gaussian blobs with one-hot labels, float32 (as JAX's examples/datasets.py makes them)."""
    rs = npr.RandomState(seed)
    centers = rs.randn(classes, dim) * 3
    labels = rs.randint(classes, size=n)
    x = centers[labels] + rs.randn(n, dim)
    return x.astype(np.float32), np.eye(classes, dtype=np.float32)[labels]


def _loss(predict):
    def loss(params, batch):
        inputs, targets = batch
        return -jnp.mean(jnp.sum(predict(params, inputs) * targets, axis=1))
    return loss


def _accuracy(predict, params, batch):
    inputs, targets = batch
    return jnp.mean(jnp.argmax(predict(params, inputs), axis=1) == jnp.argmax(targets, axis=1))


def test_mnist_classifier_style_training_with_momentum():
    init_random_params, predict = stax.serial(Dense(64), Relu, Dense(64), Relu, Dense(4),
                                              LogSoftmax)
    loss = _loss(predict)
    x, y = _blobs(768)
    train, test = (x[:512], y[:512]), (x[512:], y[512:])
    batch_size, num_batches = 64, 8

    def data_stream():
        rng = npr.RandomState(0)
        while True:
            perm = rng.permutation(512)
            for i in range(num_batches):
                idx = perm[i * batch_size:(i + 1) * batch_size]
                yield train[0][idx], train[1][idx]
    batches = data_stream()
    opt_init, opt_update, get_params = optimizers.momentum(0.01, mass=0.9)

    @jit
    def update(i, opt_state, batch):
        params = get_params(opt_state)
        return opt_update(i, grad(loss)(params, batch), opt_state)

    _, init_params = init_random_params(random.key(0), (-1, 20))
    opt_state = opt_init(init_params)
    itercount = itertools.count()
    before = float(loss(init_params, test))
    for _ in range(3 * num_batches):
        opt_state = update(next(itercount), opt_state, next(batches))
    params = get_params(opt_state)
    assert float(loss(params, test)) < 0.5 * before
    assert float(_accuracy(predict, params, test)) > 0.9
    assert update.trace_count <= 2  # the changing step number is traced, not a new compile
    assert all(p.dtype == jnp.float32 for p in tree_flatten(params)[0])


def test_vae_style_epoch_in_fori_loop():
    encoder_init, encode = stax.serial(Dense(32), Relu, FanOut(2),
                                       stax.parallel(Dense(2), stax.serial(Dense(2), Softplus)))
    decoder_init, decode = stax.serial(Dense(32), Relu, Dense(20))
    images = jnp.asarray((_blobs(256)[0] > 0).astype(np.float32))
    batch_size, num_batches = 32, 8

    def elbo(rng, params, batch):
        enc, dec = params
        mu, sigmasq = encode(enc, batch)
        z = mu + jnp.sqrt(sigmasq) * random.normal(rng, mu.shape)
        logits = decode(dec, z)
        log_lik = -jnp.sum(jnp.logaddexp(0., jnp.where(batch, -1., 1.) * logits))
        kl = -0.5 * jnp.sum(1. + jnp.log(sigmasq) - mu ** 2. - sigmasq)
        return log_lik - kl

    k1, k2 = random.split(random.key(2))
    _, enc_params = encoder_init(k1, (batch_size, 20))
    _, dec_params = decoder_init(k2, (batch_size, 2))
    opt_init, opt_update, get_params = optimizers.adam(0.003)

    @jit
    def run_epoch(rng, opt_state, images):
        def body_fun(i, opt_state):
            elbo_rng = random.fold_in(rng, i)
            batch = lax.dynamic_slice_in_dim(images, i * batch_size, batch_size)
            g = grad(lambda p: -elbo(elbo_rng, p, batch) / batch_size)(get_params(opt_state))
            return opt_update(i, g, opt_state)
        return lax.fori_loop(0, num_batches, body_fun, opt_state)

    opt_state = opt_init((enc_params, dec_params))
    first = float(elbo(random.key(9), get_params(opt_state), images)) / 256
    for epoch in range(6):
        opt_state = run_epoch(random.key(epoch), opt_state, images)
    last = float(elbo(random.key(9), get_params(opt_state), images)) / 256
    assert last > first + 2.0  # the bound improves (it is a log-likelihood: higher is better)


def test_dp_sgd_style_per_example_clipped_gradients():
    init_random_params, predict = stax.serial(
        stax.Conv(4, (3, 3), padding="SAME", strides=(2, 2)), stax.Relu,
        stax.MaxPool((2, 2), (1, 1)), stax.Flatten, stax.Dense(4))

    def loss(params, batch):
        inputs, targets = batch
        logits = stax.logsoftmax(predict(params, inputs))
        return -jnp.mean(jnp.sum(logits * targets, axis=1))

    def clipped_grad(params, l2_norm_clip, single_example_batch):
        grads = grad(loss)(params, single_example_batch)
        nonempty_grads, tree_def = tree_flatten(grads)
        total_grad_norm = jnp.linalg.norm(
            jnp.array([jnp.linalg.norm(neg.ravel()) for neg in nonempty_grads]))
        divisor = jnp.maximum(total_grad_norm / l2_norm_clip, 1.)
        return tree_unflatten(tree_def, [g / divisor for g in nonempty_grads])

    def private_grad(params, batch, rng, l2_norm_clip, noise_multiplier, batch_size):
        clipped = vmap(clipped_grad, (None, None, 0))(params, l2_norm_clip, batch)
        flat, treedef = tree_flatten(clipped)
        summed = [g.sum(0) for g in flat]
        rngs = random.split(rng, len(summed))
        noised = [g + l2_norm_clip * noise_multiplier * random.normal(r, g.shape)
                  for r, g in zip(rngs, summed)]
        return tree_unflatten(treedef, [g / batch_size for g in noised])

    x, y = _blobs(128, dim=36)
    images = x.reshape(-1, 1, 6, 6, 1)  # the example's dummy dim: one example per vmap slice
    _, params = init_random_params(random.key(0), (-1, 6, 6, 1))
    opt_init, opt_update, get_params = optimizers.sgd(0.5)
    key = random.key(1)

    @jit
    def private_update(rng, i, opt_state, batch):
        params = get_params(opt_state)
        rng = random.fold_in(rng, i)
        return opt_update(i, private_grad(params, batch, rng, 1.0, 0.1, 32), opt_state)

    # the clipping bounds each example's gradient norm
    g1 = clipped_grad(params, 0.01, (images[0], y[:1]))
    assert float(optimizers.l2_norm(g1)) <= 0.01 * 1.0001
    opt_state = opt_init(params)
    for i in range(24):
        sl = slice((i % 4) * 32, (i % 4 + 1) * 32)
        opt_state = private_update(key, i, opt_state, (images[sl], y[sl]))
    acc = _accuracy(predict, get_params(opt_state), (x.reshape(-1, 6, 6, 1), y))
    assert float(acc) > 0.8
    assert private_update.trace_count <= 2
