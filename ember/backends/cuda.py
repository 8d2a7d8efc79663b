"""CUDA backend flags: not part of this build."""


def is_built() -> bool:
    return False
