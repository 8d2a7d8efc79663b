"""autograd.gradcheck/gradgradcheck and inference_mode, as PyTorch's."""
import numpy as np
import pytest

import ember
from ember.autograd import gradcheck, gradgradcheck, GradcheckError


def _x(*shape):
    return ember.tensor(np.random.default_rng(0).standard_normal(shape), requires_grad=True)


def test_gradcheck_passes_on_correct_gradients():
    x, y = _x(3, 2), _x(2, 4)
    assert gradcheck(lambda a, b: (a @ b).tanh(), (x, y))
    assert gradcheck(lambda a: (a.exp().sum(0), a.sin()), (x,))
    assert gradcheck(lambda a: a.t()[1:].cumsum(1), (x,))  # strided views of the input
    assert gradgradcheck(lambda a, b: (a @ b).sigmoid(), (x, y))


def test_gradcheck_catches_a_wrong_gradient():
    class WrongSquare(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return g * a  # should be 2 * a

    x = _x(3)
    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 0 with respect to "
                                             "input 0"):
        gradcheck(WrongSquare.apply, (x,))
    assert gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False
    assert isinstance(GradcheckError("x"), RuntimeError)
    with pytest.raises(ValueError, match="requires grad"):
        gradcheck(lambda a: a * 2, (ember.ones(2),))


def test_gradcheck_agrees_with_torch_on_the_same_function():
    torch = pytest.importorskip("torch")
    f_e = lambda a: (a ** 3).sum()  # noqa: E731
    a = np.random.default_rng(1).standard_normal(4)
    assert gradcheck(f_e, (ember.tensor(a, requires_grad=True),)) == \
        torch.autograd.gradcheck(lambda t: (t ** 3).sum(), (torch.tensor(a, requires_grad=True),))


def test_inference_mode():
    w = ember.tensor([1., 2.], requires_grad=True)
    with ember.inference_mode():
        assert not (w * 2).requires_grad and ember.is_inference_mode_enabled()
    assert not ember.is_inference_mode_enabled()
    with ember.inference_mode(False):
        assert (w * 2).requires_grad

    @ember.inference_mode()
    def predict(x):
        return x * w
    assert not predict(ember.ones(2)).requires_grad
    assert (w * 2).requires_grad
