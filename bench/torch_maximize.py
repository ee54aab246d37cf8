"""The bench's PyTorch reference for `cnnviz maximize`: a Lucent-style feature visualization loop
(Lucid's defaults: a decorrelated 1/f Fourier image, a sigmoid, pad 12, jitter 8, scale 0.9-1.1,
rotation of up to 10 degrees, jitter 4, ImageNet normalisation, Adam at 0.05) on torchvision's
VGG16 up to block4_conv3 (features[:23], seeded weights), one channel per batch item.

    /usr/bin/python3 bench/torch_maximize.py CHANNELS SIZE STEPS

Prints one JSON object: the loop's seconds (the steps only; building the model is not counted),
torch's version and its threads.
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from torchvision import models

CHANNELS, SIZE, STEPS = (int(a) for a in sys.argv[1:4])
torch.set_num_threads(os.cpu_count())
torch.manual_seed(0)

COLOR = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
COLOR = COLOR / COLOR.norm(dim=0).max()
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def fft_image(batch, size):
    fy = torch.fft.fftfreq(size)[:, None]
    fx = torch.fft.rfftfreq(size)[None, :]
    scale = 1.0 / torch.maximum(torch.sqrt(fx * fx + fy * fy), torch.tensor(1.0 / size)) * size
    spectrum = (torch.randn(batch, 3, size, size // 2 + 1, 2) * 0.01).requires_grad_(True)

    def image():
        complex_spectrum = torch.view_as_complex(spectrum) * scale
        pre = torch.fft.irfftn(complex_spectrum, s=(size, size), norm='ortho') / 4
        pre = torch.einsum('bchw,dc->bdhw', pre, COLOR)
        return torch.sigmoid(pre)

    return spectrum, image


def transform(images):
    images = F.pad(images, (12, 12, 12, 12), value=0.5)
    def jitter(t, d):
        dx, dy = torch.randint(0, d + 1, (2,))
        return t[:, :, dy:dy + t.shape[2] - d, dx:dx + t.shape[3] - d]
    images = jitter(images, 8)
    scale = 1 + (int(torch.randint(0, 11, (1,))) - 5) / 50
    images = F.interpolate(images, scale_factor=scale, mode='bilinear', align_corners=False)
    angle = math.radians(int(torch.randint(-10, 11, (1,))))
    theta = torch.tensor([[math.cos(angle), -math.sin(angle), 0], [math.sin(angle), math.cos(angle), 0]]).expand(images.shape[0], 2, 3)
    grid = F.affine_grid(theta, images.shape, align_corners=False)
    images = F.grid_sample(images, grid, align_corners=False)
    return jitter(images, 4)


def main():
    net = models.vgg16().features[:23].eval()
    for p in net.parameters():
        p.requires_grad_(False)
    spectrum, image = fft_image(CHANNELS, SIZE)
    optimizer = torch.optim.Adam([spectrum], lr=0.05)
    channels = torch.arange(CHANNELS)
    start = time.perf_counter()
    for _ in range(STEPS):
        optimizer.zero_grad()
        maps = net((transform(image()) - MEAN) / STD)
        loss = -maps[torch.arange(CHANNELS), channels].mean(dim=(1, 2)).sum()
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'seconds': seconds}))


if __name__ == '__main__':
    main()
