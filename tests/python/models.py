"""The seed tutorial's model classes (from scripts/train_fixtures.py) and Sequential stacks."""
import importlib.util
import pathlib

import torch
import torch.nn as nn

# The tutorial's classes as the fixture trainer defines them (one definition).
_spec = importlib.util.spec_from_file_location(
    "train_fixtures", pathlib.Path(__file__).resolve().parents[2] / "scripts/train_fixtures.py")
_train_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_train_fixtures)
SimpleModel = _train_fixtures.SimpleModel
ConvNet = _train_fixtures.ConvNet


def sequential_stacks():
    """nn.Sequential stacks covering Flatten/Linear/Conv2d/pools/BatchNorm2d/activations."""
    torch.manual_seed(1)
    conv = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 3), nn.LeakyReLU(0.1), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(4 * 6 * 6, 16), nn.ReLU(), nn.Linear(16, 10))
    smooth = nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.Tanh(), nn.Linear(16, 12),
                           nn.Sigmoid(), nn.Linear(12, 10))
    # Non-trivial BatchNorm statistics, so folding them is tested.
    bn = conv[1]
    with torch.no_grad():
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.2, 0.2)
    return {"conv_bn_pool": conv.eval(), "tanh_sigmoid": smooth.eval()}
