from . import _2024_12  # ember vendors only the 2024.12 stubs

__all__ = ["_2024_12"]
