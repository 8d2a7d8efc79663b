"""Apple's Metal (MPS) backend: not part of this build."""


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
