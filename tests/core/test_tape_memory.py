"""What the eager tape keeps alive: a computed input is referenced by the nodes that read
it, not by the graph's edges, and an input whose value a VJP rule never reads (add's, sum's,
relu's: it reads its output) is kept as a shape-and-dtype stand-in (Primitive.vjp_reads).
Gradients are unchanged (bits equal to jit's and to the rules run on the real inputs)."""
import numpy as np
import pytest

import ember
from ember.core import autograd as AG


def _held(root, arr):
    """Whether any node reachable from ``root`` keeps ``arr`` (an input, output or edge)."""
    for node in AG.toposort([root._node]):
        kept = [a for a in (node.args or ()) if isinstance(a, ember.Tensor)]
        kept += [p[2] for p in node.parents if p is not None and p[2] is not None]
        if any(t._data is arr for t in kept):
            return True
        outs = node.out if isinstance(node.out, (tuple, list)) else (node.out,)
        if any(o is arr for o in outs):
            return True
    return False


def test_an_activation_read_by_no_rule_is_not_kept_by_the_tape():
    w = ember.randn(128, 128, requires_grad=True)  # 64 KiB: stand-ins from this size on
    h = ember.zeros(128, 128) + w
    y = (h + 1.0).relu().sum()  # add reads h's shape only; relu reads its output
    assert not _held(y, h._data)
    small = ember.zeros(4) + w[0, :4]
    assert _held((small + 1.0).sum(), small._data)  # kept: a stand-in would save little
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(),
                                  (w.detach().numpy() + 1.0 > 0).astype(np.float32))


def test_an_activation_is_let_go_during_backward_once_its_readers_ran():
    w = ember.randn(5, requires_grad=True)
    v = ember.randn(5, requires_grad=True)
    a = w * 2.0
    loss = (a * v).sum() * 3.0  # mul reads a (v needs a gradient)
    assert _held(loss, a._data)
    node, arr = loss._node, a._data
    del a
    seen = []
    # when v's gradient arrives, the mul's rule has run: no node keeps a any more (the
    # edges do not), so it dies then, not at the end of the pass
    v.register_hook(lambda g: seen.append(_held_any(node, arr)))
    loss.backward(retain_graph=False)
    assert seen == [False]
    np.testing.assert_allclose(v.grad.numpy(), 6.0 * w.detach().numpy(), rtol=1e-6)


def _held_any(node, arr, seen=None):
    seen = set() if seen is None else seen
    if node is None or id(node) in seen:
        return False
    seen.add(id(node))
    if any(isinstance(a, ember.Tensor) and a._data is arr for a in (node.args or ())):
        return True
    if any(p is not None and p[2] is not None and p[2]._data is arr for p in node.parents):
        return True
    return any(_held_any(p[0], arr, seen) for p in node.parents if p is not None)


@pytest.mark.parametrize("needs", ["x", "y", "both"])
def test_mul_keeps_only_the_operand_its_needed_cotangents_read(needs):
    x = ember.randn(128, 128, requires_grad=needs in ("x", "both"))
    y = ember.randn(128, 128, requires_grad=needs in ("y", "both"))
    xs, ys = x * 1.0, y * 1.0  # computed (non-leaf) operands
    if not xs.requires_grad:
        xs = ember.tensor(np.asarray(xs.detach().numpy()))
    if not ys.requires_grad:
        ys = ember.tensor(np.asarray(ys.detach().numpy()))
    z = xs * ys
    kept = [a._data.strides != (0, 0) for a in z._node.args]
    # x's cotangent reads y; y's reads x
    assert kept == [needs in ("y", "both"), needs in ("x", "both")]
    z.sum().backward()
    if x.requires_grad:
        np.testing.assert_array_equal(x.grad.numpy(), ys.detach().numpy())
    if y.requires_grad:
        np.testing.assert_array_equal(y.grad.numpy(), xs.detach().numpy())


def test_changing_an_input_no_rule_reads_is_harmless_one_it_reads_still_raises():
    for n in (4, 20000):  # small inputs are kept, large ones stand-ins: the same behaviour
        x = ember.randn(n, requires_grad=True)
        a = x * 1.0
        y = (a + 2.0).sum()  # add does not read a
        a.add_(5.0)
        y.backward()  # as PyTorch: a was not saved
        np.testing.assert_array_equal(x.grad.numpy(), np.ones(n, np.float32))
    b = x * 1.0
    z = (b * b).sum()  # mul reads b
    b.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.backward()


def test_stand_ins_have_the_shape_and_dtype_and_no_storage():
    d = np.ones((64, 32), np.float64)
    s = AG._standin(d)
    assert s.shape == (64, 32) and s.dtype == ember.float64
    assert s._data.strides == (0, 0) and not s._data.flags.writeable
    assert AG._standin(np.zeros((64, 32))) is s  # one per shape and dtype


def test_gradients_through_value_free_rules_match_jit_bits():
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal((6, 3, 8, 8)).astype(np.float32)
    w0 = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b0 = rng.standard_normal(4).astype(np.float32)

    def loss(x, w, b):
        h = ember.nn.functional.conv2d(x, w, b, padding=1)
        h = ember.nn.functional.relu(h - h.mean()) / 3.0
        h = ember.nn.functional.pad(h, (1, 1, 1, 1)).reshape(6, -1).transpose(0, 1)
        return (h.tanh() * h.sigmoid()).sum() + h[2:5].exp().sum()

    ws = [ember.tensor(w0, requires_grad=True), ember.tensor(b0, requires_grad=True)]
    for _ in range(3):  # the first uses run the rules eagerly, later ones staged plans
        for t in ws:
            t.grad = None
        loss(ember.tensor(x0), *ws).backward()
    gw, gb = ember.jit(ember.grad(lambda w, b: loss(ember.tensor(x0), w, b), argnums=(0, 1)))(
        ember.tensor(w0), ember.tensor(b0))
    np.testing.assert_array_equal(ws[0].grad.numpy(), gw.numpy())
    np.testing.assert_array_equal(ws[1].grad.numpy(), gb.numpy())
