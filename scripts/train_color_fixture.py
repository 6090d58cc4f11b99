#!/usr/bin/env python3
"""Train and export nnopt's colour fixture: a tiny 3x8x8 CNN (reproducibly).

Run from the repository root with the project's venv (torch 2.13 CPU):

    .venv/bin/python scripts/train_color_fixture.py

Data: synthetic 8x8 RGB images (numpy seed 0), pixels multiples of 1/255 so that
PNG, CSV and CIFAR-style bytes hold them exactly. Each image is a gray background
(level U(0.25, 0.75), shifted by +0.12 / 0 / -0.12 in red / green / blue so the
channel statistics differ as in CIFAR-10; per-pixel noise sd 0.06); classes 0, 1, 2 add +0.3 to the
red, green or blue channel over a random 4x4 patch, class 3 has no patch.
2,000 training / 400 held-out images.

Network (input 'input' [batch,3,8,8], output 'logits' [batch,4], opset 13):
Conv2d(3,4,k3,p1)-ReLU-Conv2d(4,8,k3,s2,p1)-ReLU-Flatten-Linear(128,4). It takes
*per-channel normalised* input (x - mean[c]) / std[c], applied outside the graph as
`--mean M0,M1,M2 --std S0,S1,S2` (the values are the training set's channel means
and standard deviations, rounded to 4 decimals, written to the JSON below).

Training: Adam lr 1e-2, batch 64, 15 epochs, cross-entropy, torch.manual_seed(0),
a seeded batch order, 1 thread. Export with the TorchScript exporter (dynamo=False).

Writes:
  models/color_cnn_3x8x8.onnx
  tests/fixtures/color_reference.json   mean, std, accuracy, 5 held-out cases
                                         (pixels C x H x W in [0,1], label, float64 logits)
  tests/fixtures/color_8x8.png           held-out case 0 as an 8-bit RGB PNG
  tests/fixtures/color_8x8.csv           held-out cases 0-7: label,p0..p191 (0-255,
                                         channel-major: red plane, green, blue)
Runtime: a few seconds.
"""
import json
import os
import struct
import zlib

import numpy as np
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 0
N_TRAIN, N_HELDOUT = 2000, 400
SIDE, CLASSES = 8, 4
EPOCHS, BATCH, LR = 15, 64, 1e-2
REF_CASES, CSV_ROWS = 5, 8


class ColorCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.ReLU())
        self.fc = nn.Linear(8 * 4 * 4, CLASSES)

    def forward(self, x):
        return self.fc(self.features(x).reshape(x.size(0), -1))


def make_data(n, rng):
    """n images (n x 3 x 8 x 8, multiples of 1/255) and labels."""
    y = rng.randint(0, CLASSES, size=n)
    shift = np.array([0.12, 0.0, -0.12]).reshape(1, 3, 1, 1)
    x = (rng.uniform(0.25, 0.75, size=(n, 1, 1, 1)) + shift +
         rng.normal(0, 0.06, size=(n, 3, SIDE, SIDE)))
    for k in range(n):
        if y[k] < 3:
            r, c = rng.randint(0, SIDE - 3, size=2)
            x[k, y[k], r:r + 4, c:c + 4] += 0.3
    return np.round(np.clip(x, 0, 1) * 255) / 255, y


def write_png_rgb(path, chw):
    """8-bit RGB PNG of a 3 x H x W array in [0,1] (no dependency beyond zlib)."""
    h, w = chw.shape[1:]
    px = np.round(chw.transpose(1, 2, 0) * 255).astype(np.uint8)
    raw = b''.join(b'\x00' + px[i].tobytes() for i in range(h))

    def chunk(kind, data):
        return (struct.pack('>I', len(data)) + kind + data +
                struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) +
                chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b''))


def main():
    torch.set_num_threads(1)
    rng = np.random.RandomState(SEED)
    xtr, ytr = make_data(N_TRAIN, rng)
    xho, yho = make_data(N_HELDOUT, rng)
    mean = [round(float(xtr[:, c].mean()), 4) for c in range(3)]
    std = [round(float(xtr[:, c].std()), 4) for c in range(3)]
    m = np.array(mean).reshape(1, 3, 1, 1)
    s = np.array(std).reshape(1, 3, 1, 1)
    ttr = torch.from_numpy(((xtr - m) / s).astype(np.float32))
    tho = torch.from_numpy(((xho - m) / s).astype(np.float32))
    ltr, lho = torch.from_numpy(ytr), torch.from_numpy(yho)

    torch.manual_seed(SEED)
    net = ColorCNN()
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    gen = torch.Generator().manual_seed(SEED)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(EPOCHS):
        perm = torch.randperm(N_TRAIN, generator=gen)
        for i in range(0, N_TRAIN, BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad()
            loss_fn(net(ttr[idx]), ltr[idx]).backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        acc = float((net(tho).argmax(1) == lho).float().mean())
    print('held-out accuracy %.2f%%, mean %s, std %s' % (100 * acc, mean, std))

    onnx_path = os.path.join(ROOT, 'models', 'color_cnn_3x8x8.onnx')
    torch.onnx.export(net, torch.zeros(1, 3, SIDE, SIDE), onnx_path, opset_version=13,
                      input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}},
                      do_constant_folding=True, dynamo=False)
    with torch.no_grad():
        xd = torch.from_numpy((xho[:REF_CASES] - m) / s)
        logits = net.double()(xd).tolist()
    fixtures = os.path.join(ROOT, 'tests', 'fixtures')
    ref = dict(generated_by='scripts/train_color_fixture.py', model='models/color_cnn_3x8x8.onnx',
               input='input [batch,3,8,8]', output='logits [batch,4]',
               normalisation='x_norm[c] = (x[c] - mean[c]) / std[c], outside the network',
               mean=mean, std=std, heldout_accuracy=round(acc, 4), heldout_count=N_HELDOUT,
               cases=[dict(pixels=[float(v) for v in xho[k].reshape(-1)], label=int(yho[k]),
                           logits=logits[k]) for k in range(REF_CASES)])
    with open(os.path.join(fixtures, 'color_reference.json'), 'w') as f:
        json.dump(ref, f)
        f.write('\n')
    write_png_rgb(os.path.join(fixtures, 'color_8x8.png'), xho[0])
    with open(os.path.join(fixtures, 'color_8x8.csv'), 'w') as f:
        for k in range(CSV_ROWS):
            f.write(','.join([str(int(yho[k]))] +
                             [str(int(v)) for v in np.round(xho[k].reshape(-1) * 255)]) + '\n')
    print('wrote', onnx_path, 'and tests/fixtures/color_{reference.json,8x8.png,8x8.csv}')


if __name__ == '__main__':
    main()
