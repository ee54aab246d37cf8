"""The bench's PyTorch reference for gradients: torchvision's ResNet-50, ResNet-18 and VGG16 (seeded
random weights, eval mode) exported with torch.onnx.export for cnnviz to run, and the time PyTorch
itself takes for what Grad-CAM needs: a forward pass keeping the last stage's output, and the
backward pass of the top class's logit to it (pytorch-grad-cam's hooks), on a 224x224 input.

    /usr/bin/python3 bench/torch_reference.py OUT_DIR RUNS

Writes OUT_DIR/torch-<model>.onnx (once) and prints one JSON object: per model the median forward
plus backward milliseconds over RUNS runs after two warm-ups, with torch's version and threads.
"""
import json
import os
import statistics
import sys
import time

import torch
from torchvision import models

OUT, RUNS = sys.argv[1], int(sys.argv[2])
THREADS = os.cpu_count()
torch.set_num_threads(THREADS)

# The layer Grad-CAM weighs in each: the last stage, as cnnviz picks it.
MODELS = {
    'resnet50': (models.resnet50, lambda m: m.layer4),
    'resnet18': (models.resnet18, lambda m: m.layer4),
    'vgg16': (models.vgg16, lambda m: m.features[29]),
}


def gradcam_ms(model, stage, x):
    kept = {}

    def keep(_module, _inputs, out):
        # The stage's output as a leaf that needs a gradient: backward runs through the head only,
        # the least work Grad-CAM can ask of autograd (no weight gradients, nothing before the stage).
        kept['out'] = out.detach().requires_grad_(True)
        return kept['out']

    handle = stage.register_forward_hook(keep)
    times = []
    for _ in range(RUNS + 2):
        start = time.perf_counter()
        logits = model(x)
        logits[0, int(logits[0].argmax())].backward()
        assert kept['out'].grad is not None
        times.append((time.perf_counter() - start) * 1000)
    handle.remove()
    return statistics.median(times[2:])


def main():
    torch.manual_seed(0)
    x = torch.rand(1, 3, 224, 224)
    report = {'torch': torch.__version__, 'threads': THREADS, 'ms': {}}
    for name, (make, stage_of) in MODELS.items():
        model = make().eval()
        for p in model.parameters():
            p.requires_grad_(False)  # Grad-CAM differentiates activations, not weights
        path = os.path.join(OUT, f'torch-{name}.onnx')
        if not os.path.exists(path):
            torch.onnx.export(model, x, path, input_names=['input'], output_names=['logits'],
                              dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=13)
        # Inplace ReLUs would overwrite the stage's output that backward needs.
        for m in model.modules():
            if isinstance(m, torch.nn.ReLU):
                m.inplace = False
        report['ms'][name] = gradcam_ms(model, stage_of(model), x)
    print(json.dumps(report))


if __name__ == '__main__':
    main()
