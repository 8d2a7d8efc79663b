"""ResNet (He et al., 2015) with torchvision's module names, so a torchvision ``state_dict``
loads key for key: ``conv1 bn1 relu maxpool layer1..layer4 avgpool fc``; blocks hold
``conv1 bn1 conv2 bn2 [conv3 bn3] downsample.0 downsample.1``."""
from __future__ import annotations

from .. import nn
from ..nn import init
from ..ops.shape import flatten
from ._weights import ImageClassification, Weights, legacy_pretrained, load_weights

__all__ = ["ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34", "resnet50",
           "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d", "wide_resnet50_2",
           "wide_resnet101_2"]


def _conv3x3(cin, cout, stride=1, groups=1, dilation=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, groups=groups, bias=False,
                     dilation=dilation)


def _conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet-18/34)."""
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1, norm_layer=None):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError(f"BasicBlock: groups={groups} and base_width={base_width} are not "
                             f"supported (only 1 and 64); use Bottleneck for ResNeXt/wide "
                             f"ResNets")
        if dilation > 1:
            raise ValueError(f"BasicBlock: dilation={dilation} is not supported (only 1)")
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided, grouped), 1x1 expand by 4, with a residual connection
    (ResNet-50/101/152; the stride sits on the 3x3 convolution, as in torchvision's V1.5)."""
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1, norm_layer=None):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = _conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = _conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = _conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    """A ResNet of ``block`` s, ``layers`` blocks per stage, with torchvision's arguments
    (``num_classes``, ``zero_init_residual``, ``groups``, ``width_per_group``,
    ``replace_stride_with_dilation``, ``norm_layer``) and initialisation (Kaiming-normal
    fan-out convolutions, BatchNorm weight 1 and bias 0, PyTorch's default Linear)."""

    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False, groups=1,
                 width_per_group=64, replace_stride_with_dilation=None, norm_layer=None):
        super().__init__()
        if len(layers) != 4:
            raise ValueError(f"ResNet: layers must give the number of blocks of the 4 stages, "
                             f"got {layers}")
        self._norm_layer = norm_layer or nn.BatchNorm2d
        self.inplanes, self.dilation = 64, 1
        dil = replace_stride_with_dilation or [False, False, False]
        if len(dil) != 3:
            raise ValueError(f"ResNet: replace_stride_with_dilation must be None or 3 booleans, "
                             f"got {replace_stride_with_dilation}")
        self.groups, self.base_width = groups, width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, 7, stride=2, padding=3, bias=False)
        self.bn1 = self._norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2, dilate=dil[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2, dilate=dil[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2, dilate=dil[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                init.ones_(m.weight)
                init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    init.zeros_(m.bn2.weight)

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        norm_layer = self._norm_layer
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(_conv1x1(self.inplanes, planes * block.expansion, stride),
                                       norm_layer(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width,
                        previous_dilation, norm_layer)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups,
                                base_width=self.base_width, dilation=self.dilation,
                                norm_layer=norm_layer))
        return nn.Sequential(*layers)

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"ResNet: expected an (N, 3, H, W) image batch, got shape "
                             f"{tuple(x.shape)}")
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(flatten(self.avgpool(x), 1))


def _imagenet(arch, file_name, resize_size=256):
    return {"IMAGENET1K_V1": Weights(
        f"{arch}.IMAGENET1K_V1", file_name,
        transforms=lambda: ImageClassification(crop_size=224, resize_size=resize_size),
        meta={"num_classes": 1000, "dataset": "ImageNet-1K", "categories": None})}


WEIGHTS = {
    "resnet18": _imagenet("resnet18", "resnet18-f37072fd.pth"),
    "resnet34": _imagenet("resnet34", "resnet34-b627a593.pth"),
    "resnet50": _imagenet("resnet50", "resnet50-0676ba61.pth"),
    "resnet101": _imagenet("resnet101", "resnet101-63fe2227.pth"),
    "resnet152": _imagenet("resnet152", "resnet152-394f9c45.pth"),
    "resnext50_32x4d": _imagenet("resnext50_32x4d", "resnext50_32x4d-7cdf4587.pth"),
    "resnext101_32x8d": _imagenet("resnext101_32x8d", "resnext101_32x8d-8ba56ff5.pth"),
    "wide_resnet50_2": _imagenet("wide_resnet50_2", "wide_resnet50_2-95faca4d.pth"),
    "wide_resnet101_2": _imagenet("wide_resnet101_2", "wide_resnet101_2-32ee1156.pth"),
}
for _w in WEIGHTS.values():
    _w["DEFAULT"] = _w["IMAGENET1K_V1"]


def _resnet(arch, block, layers, weights, progress, weights_dir=None, **kwargs):
    if weights is not None and "num_classes" not in kwargs and not isinstance(weights, dict):
        w = WEIGHTS[arch].get(weights) if isinstance(weights, str) else weights
        if isinstance(w, Weights) and w.num_classes:
            kwargs["num_classes"] = w.num_classes
    model = ResNet(block, layers, **kwargs)
    return load_weights(model, weights, WEIGHTS, arch, weights_dir)


def _factory(arch, block, layers, doc, **fixed):
    def build(*, weights=None, progress=True, weights_dir=None, **kwargs):
        weights = legacy_pretrained(arch, weights, kwargs)
        return _resnet(arch, block, layers, weights, progress, weights_dir,
                       **{**fixed, **kwargs})
    build.__name__ = build.__qualname__ = arch
    build.__doc__ = (f"{doc} with torchvision's module names. ``weights``: None (random "
                     f"init), a checkpoint file (.pth/.pt or .safetensors), a Weights "
                     f"descriptor, ``'IMAGENET1K_V1'``/``'DEFAULT'`` (read from "
                     f"``weights_dir``; never downloaded) or a state dict. Other keyword "
                     f"arguments (``num_classes``, ...) go to :class:`ResNet`.")
    return build


resnet18 = _factory("resnet18", BasicBlock, [2, 2, 2, 2], "ResNet-18")
resnet34 = _factory("resnet34", BasicBlock, [3, 4, 6, 3], "ResNet-34")
resnet50 = _factory("resnet50", Bottleneck, [3, 4, 6, 3], "ResNet-50")
resnet101 = _factory("resnet101", Bottleneck, [3, 4, 23, 3], "ResNet-101")
resnet152 = _factory("resnet152", Bottleneck, [3, 8, 36, 3], "ResNet-152")
resnext50_32x4d = _factory("resnext50_32x4d", Bottleneck, [3, 4, 6, 3], "ResNeXt-50 32x4d",
                           groups=32, width_per_group=4)
resnext101_32x8d = _factory("resnext101_32x8d", Bottleneck, [3, 4, 23, 3],
                            "ResNeXt-101 32x8d", groups=32, width_per_group=8)
wide_resnet50_2 = _factory("wide_resnet50_2", Bottleneck, [3, 4, 6, 3], "Wide ResNet-50-2",
                           width_per_group=128)
wide_resnet101_2 = _factory("wide_resnet101_2", Bottleneck, [3, 4, 23, 3],
                            "Wide ResNet-101-2", width_per_group=128)
