"""U^2-Net (Qin et al. 2020, the full 44 M-parameter network), exported by PyTorch at 1024x1024
with seeded weights: the bench's stand-in for the published 1024x1024 segmentation ONNX files.

    /usr/bin/python3 bench/u2net.py OUT.onnx
"""
import sys

import torch
from torch import nn
import torch.nn.functional as F


class REBNCONV(nn.Module):
    def __init__(self, cin, cout, dilation=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def up(x, like):
    return F.interpolate(x, size=like.shape[2:], mode='bilinear', align_corners=False)


class RSU(nn.Module):
    """RSU-L: a U-Net of `height` levels inside a residual block."""

    def __init__(self, height, cin, mid, cout):
        super().__init__()
        self.height = height
        self.inp = REBNCONV(cin, cout)
        self.enc = nn.ModuleList([REBNCONV(cout, mid)] + [REBNCONV(mid, mid) for _ in range(height - 2)])
        self.bottom = REBNCONV(mid, mid, 2)
        self.dec = nn.ModuleList([REBNCONV(mid * 2, mid) for _ in range(height - 2)] + [REBNCONV(mid * 2, cout)])

    def forward(self, x):
        hin = self.inp(x)
        skips, h = [], hin
        for i, conv in enumerate(self.enc):
            h = conv(h if i == 0 else F.max_pool2d(h, 2, 2, ceil_mode=True))
            skips.append(h)
        h = self.bottom(h)
        for i, conv in enumerate(self.dec):
            skip = skips[-1 - i]
            h = conv(torch.cat([h if i == 0 else up(h, skip), skip], 1))
        return h + hin


class RSU4F(nn.Module):
    """RSU-4F: dilations instead of pooling, at one resolution."""

    def __init__(self, cin, mid, cout):
        super().__init__()
        self.inp = REBNCONV(cin, cout)
        self.e1, self.e2, self.e3, self.e4 = REBNCONV(cout, mid), REBNCONV(mid, mid, 2), REBNCONV(mid, mid, 4), REBNCONV(mid, mid, 8)
        self.d3, self.d2, self.d1 = REBNCONV(mid * 2, mid, 4), REBNCONV(mid * 2, mid, 2), REBNCONV(mid * 2, cout)

    def forward(self, x):
        hin = self.inp(x)
        h1 = self.e1(hin)
        h2 = self.e2(h1)
        h3 = self.e3(h2)
        h4 = self.e4(h3)
        d3 = self.d3(torch.cat([h4, h3], 1))
        d2 = self.d2(torch.cat([d3, h2], 1))
        return self.d1(torch.cat([d2, h1], 1)) + hin


class U2Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stage1, self.stage2 = RSU(7, 3, 32, 64), RSU(6, 64, 32, 128)
        self.stage3, self.stage4 = RSU(5, 128, 64, 256), RSU(4, 256, 128, 512)
        self.stage5, self.stage6 = RSU4F(512, 256, 512), RSU4F(512, 256, 512)
        self.stage5d, self.stage4d = RSU4F(1024, 256, 512), RSU(4, 1024, 128, 256)
        self.stage3d, self.stage2d, self.stage1d = RSU(5, 512, 64, 128), RSU(6, 256, 32, 64), RSU(7, 128, 16, 64)
        self.side = nn.ModuleList([nn.Conv2d(c, 1, 3, padding=1) for c in (64, 64, 128, 256, 512, 512)])
        self.outconv = nn.Conv2d(6, 1, 1)

    def forward(self, x):
        pool = lambda t: F.max_pool2d(t, 2, 2, ceil_mode=True)
        h1 = self.stage1(x)
        h2 = self.stage2(pool(h1))
        h3 = self.stage3(pool(h2))
        h4 = self.stage4(pool(h3))
        h5 = self.stage5(pool(h4))
        h6 = self.stage6(pool(h5))
        d5 = self.stage5d(torch.cat([up(h6, h5), h5], 1))
        d4 = self.stage4d(torch.cat([up(d5, h4), h4], 1))
        d3 = self.stage3d(torch.cat([up(d4, h3), h3], 1))
        d2 = self.stage2d(torch.cat([up(d3, h2), h2], 1))
        d1 = self.stage1d(torch.cat([up(d2, h1), h1], 1))
        sides = [self.side[0](d1)] + [up(s(d), d1) for s, d in zip(self.side[1:], (d2, d3, d4, d5, h6))]
        fused = self.outconv(torch.cat(sides, 1))
        return tuple(torch.sigmoid(s) for s in [fused] + sides)


def main():
    torch.manual_seed(0)
    model = U2Net().eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    torch.onnx.export(model, torch.rand(1, 3, 1024, 1024), sys.argv[1], opset_version=13, do_constant_folding=True,
                      input_names=['input.1'], output_names=[f'd{i}' for i in range(7)])


if __name__ == '__main__':
    main()
