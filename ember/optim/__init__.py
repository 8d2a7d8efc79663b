"""``ember.optim``: optimizers with PyTorch's names and update formulas, learning-rate
schedulers, and pure functional optimizers (``ember.optim.functional``) sharing the same math."""
from .sgd import Optimizer, SGD  # noqa: F401
from .optimizers import Adam, AdamW, RMSprop, Adagrad  # noqa: F401
from . import functional, lr_scheduler, swa_utils  # noqa: F401
from .more_optimizers import Adadelta, Adamax, NAdam, RAdam, ASGD, Rprop, LBFGS  # noqa: F401
