"""Neural network architectures, built by name and adapted to survey stamps.

Every model returned by `build_model` takes a batch of stamps of shape
``(N, in_channels, H, W)`` and returns one logit per stamp, shape ``(N,)``;
P(cluster) is ``sigmoid(logit)``.

The torchvision architectures are built without pretrained weights (they are
trained from scratch on stamps: nothing is downloaded) and adapted in two ways:

- the first convolution takes ``in_channels`` bands instead of three colours;
- for small stamps (``stem="small"``, the default below 64 pixels), the stem is
  a 3x3, stride-1 convolution without the max-pool, as in the CIFAR versions of
  ResNet: a 32-pixel stamp would otherwise shrink to 8x8 pixels before the
  first residual block, and the marginally resolved profile of a cluster would
  be lost. VGG gets a global-pooling head instead of its 25,088-input
  classifier; ConvNeXt a 2x2 patchify stem; the vision transformer a 4-pixel
  patch.

``"small_cnn"`` is a compact network of our own (four convolution blocks with
batch normalisation, global average pooling and a linear head, about 100,000
parameters) that classifies thousands of stamps per second on a laptop CPU.
"""

from torch import nn

__all__ = ["SmallCNN", "build_model", "count_parameters", "list_architectures"]

_TORCHVISION = (
    "resnet18",
    "resnet34",
    "resnet50",
    "vgg16_bn",
    "densenet121",
    "efficientnet_b0",
    "convnext_tiny",
    "vit_b_16",
)

#: Stamps smaller than this many pixels get the small stem when ``stem="auto"``.
SMALL_STEM_BELOW = 64


def list_architectures():
    """Return the names accepted by `build_model` and `~clusterfinder.ClusterClassifier`.

    Returns
    -------
    tuple of str

    Examples
    --------
    >>> from clusterfinder.classifier import list_architectures
    >>> "resnet50" in list_architectures() and "small_cnn" in list_architectures()
    True
    """
    return ("small_cnn", *_TORCHVISION)


class SmallCNN(nn.Module):
    """A compact convolutional network for small multi-band stamps.

    Four 3x3 convolution blocks (convolution, batch normalisation, ReLU), with a
    2x2 max-pool after the first two, global average pooling, dropout and a
    linear layer giving one logit.

    Parameters
    ----------
    in_channels : int
        Number of input channels (bands, plus one for a mask channel).
    widths : sequence of int, optional
        Output channels of the convolution blocks.
    dropout : float, optional
        Dropout probability before the linear head.

    Examples
    --------
    >>> import torch
    >>> net = SmallCNN(2)
    >>> net(torch.zeros(3, 2, 32, 32)).shape
    torch.Size([3, 1])
    >>> 50_000 < sum(p.numel() for p in net.parameters()) < 150_000
    True
    """

    def __init__(self, in_channels, *, widths=(32, 48, 64, 96), dropout=0.2):
        super().__init__()
        layers = []
        previous = in_channels
        for index, width in enumerate(widths):
            layers += [
                nn.Conv2d(previous, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            ]
            if index < 2:
                layers.append(nn.MaxPool2d(2))
            previous = width
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(previous, 1))

    def forward(self, x):
        return self.head(self.pool(self.features(x)))


class _OneLogit(nn.Module):
    """Wraps a network so that it returns a flat ``(N,)`` vector of logits."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x).reshape(x.shape[0])


def _resolve_stem(stem, cutout_size):
    if stem == "auto":
        return "small" if cutout_size < SMALL_STEM_BELOW else "standard"
    if stem not in ("small", "standard"):
        raise ValueError(f"stem must be 'auto', 'small' or 'standard'; got {stem!r}")
    return stem


def _conv_like(old, in_channels, **changes):
    """A fresh Conv2d like ``old`` but with ``in_channels`` inputs and ``changes``."""
    options = dict(
        out_channels=old.out_channels,
        kernel_size=old.kernel_size,
        stride=old.stride,
        padding=old.padding,
        bias=old.bias is not None,
    )
    options.update(changes)
    return nn.Conv2d(in_channels, **options)


def _torchvision_model(name, in_channels, stem, cutout_size):
    from torchvision import models

    small = stem == "small"
    if name.startswith("resnet"):
        net = getattr(models, name)(weights=None, num_classes=1)
        if small:
            net.conv1 = _conv_like(net.conv1, in_channels, kernel_size=3, stride=1, padding=1)
            net.maxpool = nn.Identity()
        else:
            net.conv1 = _conv_like(net.conv1, in_channels)
    elif name == "vgg16_bn":
        net = models.vgg16_bn(weights=None, num_classes=1)
        net.features[0] = _conv_like(net.features[0], in_channels)
        if small:
            net.avgpool = nn.AdaptiveAvgPool2d(1)
            net.classifier = nn.Sequential(nn.Dropout(0.3), nn.Linear(512, 1))
    elif name == "densenet121":
        net = models.densenet121(weights=None, num_classes=1)
        if small:
            net.features.conv0 = _conv_like(
                net.features.conv0, in_channels, kernel_size=3, stride=1, padding=1
            )
            net.features.pool0 = nn.Identity()
        else:
            net.features.conv0 = _conv_like(net.features.conv0, in_channels)
    elif name == "efficientnet_b0":
        net = models.efficientnet_b0(weights=None, num_classes=1)
        stride = 1 if small else 2
        net.features[0][0] = _conv_like(net.features[0][0], in_channels, stride=stride)
    elif name == "convnext_tiny":
        net = models.convnext_tiny(weights=None, num_classes=1)
        patch = 2 if small else 4
        net.features[0][0] = _conv_like(
            net.features[0][0], in_channels, kernel_size=patch, stride=patch
        )
    elif name == "vit_b_16":
        patch = 4 if small else 16
        if cutout_size % patch:
            raise ValueError(
                f"architecture 'vit_b_16' with stem={stem!r} needs a cutout_size that is a "
                f"multiple of its {patch}-pixel patch; got cutout_size={cutout_size}"
            )
        net = models.VisionTransformer(
            image_size=cutout_size,
            patch_size=patch,
            num_layers=12,
            num_heads=12,
            hidden_dim=768,
            mlp_dim=3072,
            num_classes=1,
        )
        net.conv_proj = _conv_like(net.conv_proj, in_channels)
    else:  # pragma: no cover - guarded by build_model
        raise AssertionError(name)
    return net


def build_model(name, *, in_channels, cutout_size=32, stem="auto", widths=None, dropout=None):
    """Build an untrained network by name, adapted to ``in_channels`` input bands.

    Parameters
    ----------
    name : str
        One of `list_architectures`.
    in_channels : int
        Number of input channels.
    cutout_size : int, optional
        Side of the (square) stamps in pixels; decides the stem when
        ``stem="auto"`` and the patch grid of the vision transformer.
    stem : {"auto", "small", "standard"}, optional
        ``"small"``: 3x3 stride-1 first convolution and no max-pool (CIFAR
        style); ``"standard"``: torchvision's ImageNet stem; ``"auto"``: small
        below 64 pixels. Ignored by ``"small_cnn"``.
    widths : sequence of int, optional
        Channels of each convolutional block of ``"small_cnn"`` (`SmallCNN`'s
        default when None). Refused by the other architectures.
    dropout : float, optional
        Dropout before the last layer of ``"small_cnn"`` (`SmallCNN`'s default
        when None). Refused by the other architectures.

    Returns
    -------
    `torch.nn.Module`
        Maps ``(N, in_channels, H, W)`` to ``(N,)`` logits.

    Raises
    ------
    ValueError
        For an unknown ``name`` or ``stem``, ``in_channels`` < 1, or a
        ``cutout_size`` the network cannot take.
    TypeError
        If ``widths`` or ``dropout`` is given for an architecture other than
        ``"small_cnn"``.

    Examples
    --------
    >>> import torch
    >>> from clusterfinder.classifier import build_model
    >>> net = build_model("small_cnn", in_channels=2)
    >>> net(torch.zeros(4, 2, 32, 32)).shape
    torch.Size([4])
    """
    if not isinstance(name, str) or name not in list_architectures():
        raise ValueError(
            f"architecture must be one of {', '.join(list_architectures())}; got {name!r}"
        )
    if isinstance(in_channels, bool) or not isinstance(in_channels, int) or in_channels < 1:
        raise ValueError(f"in_channels must be a positive integer; got {in_channels!r}")
    if isinstance(cutout_size, bool) or not isinstance(cutout_size, int) or cutout_size < 4:
        raise ValueError(f"cutout_size must be an integer >= 4 pixels; got {cutout_size!r}")
    given = (("widths", widths), ("dropout", dropout))
    options = {key: value for key, value in given if value is not None}
    if name == "small_cnn":
        net = SmallCNN(in_channels, **options)
    else:
        if options:
            raise TypeError(
                f"architecture {name!r} takes no options besides stem; got {sorted(options)}"
            )
        net = _torchvision_model(name, in_channels, _resolve_stem(stem, cutout_size), cutout_size)
    return _OneLogit(net)


def count_parameters(model):
    """Number of trainable parameters of ``model``.

    Examples
    --------
    >>> from torch import nn
    >>> count_parameters(nn.Linear(3, 1))
    4
    """
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))
