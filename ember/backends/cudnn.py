"""cuDNN: not part of this build. ``enabled``/``benchmark``/``deterministic``/``allow_tf32`` are accepted
(PyTorch scripts set them) and change nothing on the CPU."""

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    return False
