"""Knowledge distillation: a frozen teacher and the Hinton loss as a module."""
from __future__ import annotations

from ..core.autograd import no_grad
from . import functional as F
from .module import Module


class Teacher(Module):
    """Wraps a trained model as a distillation teacher: always in eval mode (``train()`` on
    the teacher or on a module holding it leaves it in eval), its parameters frozen
    (``requires_grad=False``, so an optimizer given ``student.parameters()`` never sees them
    and no gradient flows into them), and its forward run under ``no_grad``.

    >>> teacher = ember.nn.Teacher(ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.Dropout(0.5)))
    >>> teacher.train().training, teacher(ember.ones(2, 4)).requires_grad
    (False, False)
    """

    def __init__(self, model):
        super().__init__()
        self.model = model
        for p in model.parameters():
            p.requires_grad_(False)
        model.eval()
        Module.train(self, False)

    def train(self, mode=True):
        return Module.train(self, False)

    def forward(self, *args, **kwargs):
        with no_grad():
            return self.model(*args, **kwargs)


class DistillationLoss(Module):
    """``F.distillation_loss`` as a module: ``loss(student_logits, teacher_logits, target)``.

    >>> loss = ember.nn.DistillationLoss(T=2.0, alpha=0.5)
    >>> s = ember.tensor([[2.0, 0.5, -1.0]])
    >>> loss(s, s.clone(), ember.tensor([0]))
    tensor(0.1207)
    """

    def __init__(self, T=4.0, alpha=0.9):
        super().__init__()
        self.T, self.alpha = T, alpha

    def forward(self, student_logits, teacher_logits, target=None):
        return F.distillation_loss(student_logits, teacher_logits, target, self.T, self.alpha)

    def extra_repr(self):
        return f"T={self.T}, alpha={self.alpha}"
