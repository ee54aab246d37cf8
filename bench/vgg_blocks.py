"""VGG16's convolutional base with the end of each of its five blocks as an output (the ReLUs
after block1_conv2 ... block5_conv3), exported by PyTorch with seeded weights: the network a
bare ONNX Runtime process runs in the bench, as the reference for cnnviz's own run.

    /usr/bin/python3 bench/vgg_blocks.py OUT.onnx
"""
import sys

import torch
from torch import nn

BLOCKS = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]


class Blocks(nn.Module):
    def __init__(self):
        super().__init__()
        layers, cin = [], 3
        for widths in BLOCKS:
            block = []
            for cout in widths:
                block += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]
                cin = cout
            layers.append(nn.Sequential(*block))
        self.blocks = nn.ModuleList(layers)

    def forward(self, x):
        outputs = []
        for i, block in enumerate(self.blocks):
            x = block(x if i == 0 else nn.functional.max_pool2d(x, 2))
            outputs.append(x)
        return tuple(outputs)


def main():
    torch.manual_seed(0)
    torch.onnx.export(Blocks().eval(), torch.rand(1, 3, 224, 224), sys.argv[1], opset_version=13,
                      input_names=['input'], output_names=[f'block{i + 1}' for i in range(5)],
                      dynamic_axes={'input': {0: 'batch'}})


if __name__ == '__main__':
    main()
