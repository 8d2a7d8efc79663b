"""cuDNN: not part of this build. ``enabled``/``benchmark``/``deterministic`` are accepted
(PyTorch scripts set them) and change nothing on the CPU."""

enabled = True
benchmark = False
deterministic = False


def is_available() -> bool:
    return False
