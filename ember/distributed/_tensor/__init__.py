"""``torch.distributed._tensor``'s older import paths (``._tensor.device_mesh``)."""
