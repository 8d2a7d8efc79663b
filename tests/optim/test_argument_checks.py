"""The optimizers refuse what they could not update, with PyTorch's checks: the same
exception type as PyTorch for each bad argument, and a message naming the optimizer."""
import numpy as np
import pytest

import ember
from ember import nn

torch = pytest.importorskip("torch")

NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]


def _pair():
    w = np.ones(3, np.float32)
    return (ember.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True))


def _both(make):
    """The exception ember raises and the one torch raises (None when it accepts)."""
    out = []
    for lib, k in ((ember, 0), (torch, 1)):
        try:
            make(lib, k)
            out.append(None)
        except Exception as e:  # noqa: BLE001
            out.append(e)
    return out


BAD_PARAMS = {
    "bare tensor": lambda lib, k, w: w[k],
    "non-leaf": lambda lib, k, w: [w[k] * 2],
    "empty list": lambda lib, k, w: [],
    "empty generator": lambda lib, k, w: iter([]),
    "a dict of tensors": lambda lib, k, w: {"a": w[k]},
    "a float": lambda lib, k, w: [1.0],
    "groups sharing a tensor": lambda lib, k, w: [{"params": [w[k]]}, {"params": [w[k]]}],
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("case", sorted(BAD_PARAMS))
def test_bad_params_raise_as_pytorch(name, case):
    w = _pair()
    e_err, t_err = _both(lambda lib, k: getattr(lib.optim, name)(BAD_PARAMS[case](lib, k, w),
                                                               lr=0.1))
    assert t_err is not None and e_err is not None, (case, e_err, t_err)
    assert type(e_err) is type(t_err), (case, e_err, t_err)
    assert str(e_err).startswith(f"{name}: ")


def test_messages_name_the_problem():
    w = ember.ones(3, requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts, but got a Tensor of "
                                        r"shape \(3,\)"):
        ember.optim.SGD(w, lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        ember.optim.Adam([w * 2])
    with pytest.raises(ValueError, match="appears twice"):
        ember.optim.SGD([w, w], lr=0.1)
    opt = ember.optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [w]})
    with pytest.raises(TypeError, match="lr must be a number"):
        ember.optim.SGD([w], lr="0.1")
    with pytest.raises(ValueError, match="Invalid learning rate: nan"):
        ember.optim.SGD([w], lr=float("nan"))


BAD_OPTIONS = [
    ("SGD", dict(lr=-0.1)), ("SGD", dict(lr=0.1, momentum=-1)),
    ("SGD", dict(lr=0.1, weight_decay=-1)), ("SGD", dict(lr=0.1, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)),
    ("Adam", dict(lr=-1)), ("Adam", dict(eps=-1)), ("Adam", dict(betas=(1.0, 0.9))),
    ("Adam", dict(betas=(0.9, 1.0))), ("Adam", dict(betas=(-0.1, 0.9))),
    ("Adam", dict(weight_decay=-1)), ("AdamW", dict(weight_decay=-1)),
    ("AdamW", dict(eps=-1e-8)), ("RMSprop", dict(alpha=-1)), ("RMSprop", dict(momentum=-1)),
    ("RMSprop", dict(eps=-1)), ("RMSprop", dict(weight_decay=-1)),
    ("Adagrad", dict(lr_decay=-1)), ("Adagrad", dict(initial_accumulator_value=-1)),
    ("Adagrad", dict(eps=-1)), ("Adagrad", dict(lr=-1)),
]


@pytest.mark.parametrize("name,kw", BAD_OPTIONS)
def test_bad_options_raise_as_pytorch(name, kw):
    w = _pair()
    e_err, t_err = _both(lambda lib, k: getattr(lib.optim, name)([w[k]], **kw))
    assert isinstance(t_err, ValueError) and isinstance(e_err, ValueError), (e_err, t_err)
    assert str(e_err).startswith(f"{name}: ")
    # PyTorch's wording is kept inside ember's message
    assert str(t_err).split(":")[0].lower() in str(e_err).lower()


def test_group_options_are_checked_too():
    a, b = ember.ones(2, requires_grad=True), ember.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        ember.optim.SGD([{"params": [a]}, {"params": [b], "lr": -1}], lr=0.1)


def test_valid_forms_still_work():
    m = nn.Linear(2, 2)
    for params in (m.parameters(), list(m.named_parameters()),
                   [{"params": m.weight}, {"params": [m.bias], "lr": 0.5}]):
        opt = ember.optim.SGD(params, lr=0.1)
        before = m.weight.detach().numpy().copy()
        opt.zero_grad()
        m(ember.ones(1, 2)).sum().backward()
        opt.step()
        assert not np.array_equal(before, m.weight.detach().numpy())
    # a frozen (requires_grad=False) leaf is accepted, as in PyTorch
    ember.optim.Adam([ember.ones(2)])


def test_load_state_dict_checks_groups_and_shapes():
    a, b = nn.Linear(3, 2), nn.Linear(4, 2)
    for m in (a, b):
        m(ember.ones(1, m.in_features)).sum().backward()
    oa, ob = ember.optim.Adam(a.parameters()), ember.optim.Adam(b.parameters())
    oa.step()
    ob.step()
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: state 'exp_avg' of parameter "
                                         r"0 has shape \(2, 3\), but the parameter has shape "
                                         r"\(2, 4\)"):
        ob.load_state_dict(oa.state_dict())
    one = ember.optim.Adam([a.weight])
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group 0: 2 vs 1"):
        one.load_state_dict(oa.state_dict())
    two = ember.optim.Adam([{"params": [a.weight]}, {"params": [a.bias]}])
    with pytest.raises(ValueError, match=r"different number of parameter groups \(1\) than the "
                                         r"optimizer \(2\)"):
        two.load_state_dict(oa.state_dict())
    with pytest.raises(ValueError, match="expected a dict with 'state' and 'param_groups'"):
        oa.load_state_dict({"w": 1})
    # a matching state dict (also through ember.save/load) restores the trajectory
    import tempfile, os
    path = os.path.join(tempfile.mkdtemp(), "opt.safetensors")
    ember.save(oa.state_dict(), path)
    again = ember.optim.Adam(a.parameters())
    again.load_state_dict(ember.load(path))
    assert again.state_dict()["state"][0]["step"] == 1
