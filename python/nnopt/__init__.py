"""nnopt: embed trained ReLU networks in optimisation models.

Find adversarial inputs (exact MIP with CBC, complementarity NLP with Ipopt,
ReLU branch and bound, or a portfolio of them) or prove that none exists in an
L-inf ball, and verify VNN-LIB properties - the library behind the ``nnopt``
command line, with the same semantics, defaults, messages and JSON.

    >>> import nnopt
    >>> net = nnopt.Network.from_onnx("models/mnist_mlp_1x20.onnx")
    >>> img = nnopt.load_image("data/mnist_test_0.pgm")
    >>> r = nnopt.attack(net, img, label=7, eps=0.1, method="mip")
    >>> r.verdict, r.margin

Every reported attack has been replayed through the network's forward pass in
double precision before it is reported; ``robust`` comes only from an exact
method's proven bound.
"""
from __future__ import annotations

import io as _io
import json as _json
import os as _os
import tempfile as _tempfile
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Union

import numpy as _np

from . import _nnopt

__all__ = [
    "Error",
    "InputError",
    "Network",
    "Image",
    "AttackResult",
    "MinDistortionResult",
    "VerifyResult",
    "attack",
    "verify",
    "load_image",
    "load_dataset_item",
    "save_panel",
    "SolutionError",
    "Model",
    "LinExpr",
    "Variables",
    "Constraint",
    "Solution",
    "NetworkEmbedding",
    "NetworkCheck",
    "absolute",
    "l1",
    "linf",
    "stack",
    "concatenate",
    "bounds",
    "sweep",
    "verify_batch",
    "score",
    "BoundsResult",
    "BoxBounds",
    "MethodBounds",
    "LayerBounds",
    "ReluCounts",
    "SweepResult",
    "BatchRow",
    "BatchResult",
    "ScoreSummary",
]
__version__ = "0.1.0"


class Error(RuntimeError):
    """Any failure reported by nnopt; the message is the CLI's one-line error."""


class InputError(Error, ValueError):
    """Bad input: a malformed file, an unsupported ONNX op, a bad argument."""


class SolutionError(Error):
    """A solver's point failed a self-check (a network's outputs differ from its
    forward pass); the :class:`Solution` is the exception's ``solution``."""


class _Translate:
    """Context manager turning the extension's error type into InputError."""

    def __enter__(self) -> "_Translate":
        return self

    def __exit__(self, et: Any, ev: Any, tb: Any) -> bool:
        if ev is not None and isinstance(ev, _nnopt.Error):
            raise InputError(str(ev)) from None
        return False


def _vec(x: Any, what: str) -> _np.ndarray:
    try:
        a = _np.asarray(x, dtype=_np.float64)
    except (TypeError, ValueError) as e:
        raise InputError(f"{what}: not an array of numbers ({e})") from None
    return _np.ascontiguousarray(a.reshape(-1))


class Network:
    """A trained network in nnopt's IR (Dense, activation and MaxPool layers).

    Build one with :meth:`from_onnx` or :meth:`from_torch`; the object is
    immutable.
    """

    def __init__(self, core: Any, name: str) -> None:
        """Wrap an extension network; use :meth:`from_onnx` / :meth:`from_torch`."""
        self._core = core
        self.name = name

    @classmethod
    def from_onnx(cls, source: Union[str, "_os.PathLike[str]", bytes], name: Optional[str] = None) -> "Network":
        """Load an ONNX model from a file path or from the model's bytes.

        Linear ops are folded into Dense layers; raises :class:`InputError`
        with the CLI's message for unreadable files or unsupported ops.
        """
        with _Translate():
            if isinstance(source, (bytes, bytearray, memoryview)):
                label = name or "<bytes>"
                return cls(_nnopt.load_onnx_bytes(bytes(source), label), label)
            path = _os.fspath(source)
            return cls(_nnopt.load_onnx(path), name or path)

    @classmethod
    def from_torch(cls, module: Any, example_input: Any, dynamo: Optional[bool] = None,
                   name: Optional[str] = None, opset_version: Optional[int] = None) -> "Network":
        """Export a torch module to ONNX in memory and load it.

        ``example_input`` is a tensor with the batch dimension (e.g. shape
        ``(1, 1, 28, 28)``). ``dynamo=None`` uses torch's default exporter
        (the dynamo one in torch 2.9+), ``dynamo=False`` the TorchScript one.
        The module is exported in eval mode (its mode is restored afterwards).
        """
        import torch  # imported lazily: torch is optional

        was_training = module.training
        module.eval()
        kwargs: dict = {"external_data": False}  # weights inside the model bytes
        if dynamo is not None:
            kwargs["dynamo"] = dynamo
        if opset_version is not None:
            kwargs["opset_version"] = opset_version
        try:
            import warnings

            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                data = _quiet_export(torch, module, example_input, kwargs)
        finally:
            module.train(was_training)
        return cls.from_onnx(data, name=name or type(module).__name__)

    @property
    def input_size(self) -> int:
        """Number of inputs (flattened)."""
        return int(self._core.input_size)

    @property
    def output_size(self) -> int:
        """Number of outputs (logits)."""
        return int(self._core.output_size)

    @property
    def input_shape(self) -> tuple:
        """Logical input shape without the batch dimension, e.g. (1, 28, 28)."""
        return tuple(self._core.input_shape)

    @property
    def relu_neurons(self) -> int:
        """Number of ReLU/LeakyReLU neurons."""
        return int(self._core.relu_neurons)

    def with_input_normalization(self, mean: "Normalization", std: "Normalization") -> "Network":
        """A network that computes ``self((x - mean) / std)`` (folded into the first Dense):
        ``mean``/``std`` one number each, or one per channel of a C x H x W input
        (e.g. ``(0.4914, 0.4822, 0.4465)``)."""
        with _Translate():
            return Network(self._core.with_input_normalization(_norm_values(mean),
                                                               _norm_values(std)), self.name)

    def layers(self) -> list:
        """The layers as dicts: kind, in_size, out_size, out_shape, name (ONNX nodes)."""
        return list(self._core.layers())

    def summary(self) -> str:
        """One line, as ``nnopt info`` prints: input shape, layers, ReLU count."""
        return self._core.summary()

    def forward(self, x: Any) -> _np.ndarray:
        """Logits of one input (any shape with input_size values) or of a batch.

        A 1-D array or an array of exactly input_shape gives a 1-D result; an
        array of shape (N, ...) with input_size values per item gives (N, outputs).
        """
        a = _np.asarray(x, dtype=_np.float64)
        single = a.ndim <= 1 or tuple(a.shape) == self.input_shape
        rows = a.reshape(1, -1) if single else a.reshape(a.shape[0], -1)
        with _Translate():
            out = self._core.forward(_np.ascontiguousarray(rows))
        return out[0] if single else out

    def __call__(self, x: Any) -> _np.ndarray:
        """Same as :meth:`forward`."""
        return self.forward(x)

    def __repr__(self) -> str:
        return f"nnopt.Network({self.name!r}: {self.summary()})"


def _quiet_export(torch: Any, module: Any, x: Any, kwargs: dict) -> bytes:
    """torch.onnx.export into a temporary file (the dynamo exporter deprecates
    BytesIO targets), its progress prints sent nowhere; returns the model bytes."""
    import contextlib
    import logging

    # The dynamo exporter logs a warning per torchvision op it cannot register
    # when torchvision is absent: noise for a user who did not ask for it.
    quiet = [logging.getLogger(n) for n in ("torch.onnx", "torch.onnx._internal.exporter._registration")]
    levels = [q.level for q in quiet]
    for q in quiet:
        q.setLevel(logging.ERROR)
    try:
        with _tempfile.TemporaryDirectory() as d, contextlib.redirect_stdout(_io.StringIO()):
            path = _os.path.join(d, "model.onnx")
            torch.onnx.export(module, (x,), path, **kwargs)
            with open(path, "rb") as f:
                return f.read()
    finally:
        for q, lv in zip(quiet, levels):
            q.setLevel(lv)


@dataclass
class Image:
    """Pixels in [0, 1] (CHW, flattened) with the dataset label (-1: unknown)."""

    pixels: _np.ndarray
    label: int = -1
    rows: int = 0
    cols: int = 0
    channels: int = 1
    name: str = "array"


def load_image(path: str, gray: bool = True) -> Image:
    """Read a PNG or PGM/PPM image as pixels in [0, 1]: gray (colour mixed by
    0.299R + 0.587G + 0.114B) or, with ``gray=False``, a colour file as 3 x H x W
    (channel-major, alpha dropped, palette and 16-bit PNGs expanded). ``--image``
    picks the form the network's input takes."""
    with _Translate():
        d = _nnopt.load_image(_os.fspath(path), bool(gray))
    return Image(name=_os.fspath(path), **d)


def load_dataset_item(path: str, index: int) -> Image:
    """Item ``index`` of an MNIST IDX, CIFAR-10 ``*.bin`` or CSV dataset (as ``--dataset F
    --index K``); CIFAR-10 and 3*s*s-pixel CSV rows give 3 x s x s colour images."""
    with _Translate():
        if index < 0:
            raise _nnopt.Error("--dataset needs --index K (0-based)")
        d = _nnopt.load_dataset_item(_os.fspath(path), int(index))
    return Image(name=f"{_os.fspath(path)} #{index}", **d)


class _Panel:
    """save_panel / _repr_png_ shared by the attack results (the CLI's --save-panel)."""

    adversarial: _np.ndarray
    image: Optional[Image]
    _panel_net: Any

    def _panel_text(self) -> tuple:
        raise NotImplementedError

    def save_panel(self, path: str) -> None:
        """Write the CLI's ``--save-panel`` PNG: original, adversarial, perturbation."""
        if self.adversarial.size == 0 or self.image is None:
            raise InputError("no solver point to draw")
        img = self.image
        side = int(round(_np.sqrt(img.pixels.size)))
        rows = img.rows if img.rows > 0 else side
        cols = img.cols if img.cols > 0 else side
        if img.channels not in (1, 3) or rows * cols * img.channels != self.adversarial.size:
            raise InputError("input is not a gray or RGB image; no panel")
        title, subtitle, caption = self._panel_text()
        with _Translate():
            _nnopt.write_panel(_os.fspath(path), img.pixels, self.adversarial, img.channels,
                               rows, cols, self._panel_net.forward(img.pixels.reshape(1, -1))[0],
                               self._panel_net.forward(self.adversarial.reshape(1, -1))[0],
                               title, subtitle, caption)

    def _repr_png_(self) -> Optional[bytes]:
        """The panel as PNG bytes (Jupyter display); None when there is no point."""
        if self.adversarial.size == 0 or self.image is None:
            return None
        with _tempfile.TemporaryDirectory() as d:
            p = _os.path.join(d, "panel.png")
            try:
                self.save_panel(p)
            except Error:
                return None
            with open(p, "rb") as f:
                return f.read()

    def to_json(self) -> str:
        """The CLI's ``--json`` content for the same run (written by the C++ writer)."""
        return self.json_text  # type: ignore[attr-defined]

    def to_dict(self) -> dict:
        """``to_json()`` parsed."""
        return _json.loads(self.to_json())


def _base(net: Optional["Network"]) -> str:
    return _os.path.basename(net.name if net else "network")


@dataclass(repr=False)
class AttackResult(_Panel):
    """Result of :func:`attack` (the CLI's ``nnopt attack`` result).

    ``verdict`` is attack_found, robust, no_attack_found or timeout;
    ``adversarial`` the replayed input point (pixel space, empty when the
    solver returned none) and ``logits_adv`` its logits.
    """

    verdict: str
    method: str
    status: str
    true_label: int
    target_label: int
    margin: float
    bound: float
    adversarial: _np.ndarray
    logits_adv: _np.ndarray
    predicted_label_adv: int
    linf_distance: float
    time_s: float
    predicted_label_clean: int
    logits_clean: _np.ndarray
    eps: float = 0.0
    json_text: str = ""
    image: Optional[Image] = None
    network: Optional[Network] = None
    _panel_net: Any = None

    def __repr__(self) -> str:
        return (f"AttackResult(verdict={self.verdict!r}, method={self.method!r}, "
                f"margin={self.margin:.6g}, bound={self.bound:.6g}, label={self.true_label}, "
                f"target={self.target_label}, predicted_adv={self.predicted_label_adv}, "
                f"time_s={self.time_s:.3f}, status={self.status!r})")

    def _panel_text(self) -> tuple:
        title = f"{_base(self.network)}: {self.method} margin attack, L-inf eps {self.eps:g}"
        subtitle = (f"label {self.true_label} vs target {self.target_label}: margin "
                    f"{self.margin:.4f} ({self.verdict}), {self.time_s:.2f} s")
        caption = "adversarial" if self.verdict == "attack_found" else "best point (no attack)"
        return title, subtitle, caption


@dataclass(repr=False)
class MinDistortionResult(_Panel):
    """Result of ``attack(..., objective="min-distortion")``: the closest replayed
    input with logit[target] >= logit[label] + gap (``distance`` in ``norm``)."""

    verdict: str
    method: str
    status: str
    norm: str
    gap: float
    true_label: int
    target_label: int
    distance: float
    l1_distance: float
    l2_distance: float
    linf_distance: float
    lower_bound: float
    optimal: bool
    achieved_gap: float
    adversarial: _np.ndarray
    logits_adv: _np.ndarray
    predicted_label_adv: int
    time_s: float
    predicted_label_clean: int
    logits_clean: _np.ndarray
    json_text: str = ""
    image: Optional[Image] = None
    network: Optional[Network] = None
    _panel_net: Any = None

    def __repr__(self) -> str:
        return (f"MinDistortionResult(verdict={self.verdict!r}, method={self.method!r}, "
                f"norm={self.norm!r}, distance={self.distance:.6g}, "
                f"lower_bound={self.lower_bound:.6g}, optimal={self.optimal}, "
                f"label={self.true_label}, target={self.target_label}, "
                f"time_s={self.time_s:.3f})")

    def _panel_text(self) -> tuple:
        title = (f"{_base(self.network)}: {self.method} min-{self.norm} attack, "
                 f"logit[{self.target_label}] >= logit[{self.true_label}] + {self.gap:g}")
        if self.optimal:
            extra = " (optimal)"
        elif _np.isfinite(self.lower_bound):
            extra = f" (lower bound {self.lower_bound:.4f})"
        else:
            extra = ""
        subtitle = f"{self.norm} distance {self.distance:.4f}{extra}, {self.time_s:.2f} s"
        return title, subtitle, "adversarial"

def _as_image(image: Any) -> Image:
    if isinstance(image, Image):
        return image
    try:
        shape = _np.shape(image)
    except ValueError:  # ragged nesting: _vec raises the one-line InputError
        shape = ()
    if len(shape) == 3 and shape[0] == 3:  # a C x H x W colour array
        return Image(pixels=_vec(image, "image"), channels=3, rows=shape[1], cols=shape[2])
    return Image(pixels=_vec(image, "image"))


def attack(net: Network, image: Any, *, label: Optional[int] = None,
           eps: Optional[float] = None, method: str = "mip",
           target: Union[str, int, None] = None, objective: str = "margin",
           norm: str = "l1", gap: float = 0.1, max_eps: Optional[float] = None,
           nlp_form: str = "scholtes", mpec_form: str = "fb", bounds: str = "crown",
           time_limit: float = 600.0, lp_time_limit: float = 30.0, early_stop: bool = False,
           warm_start: Optional[str] = None, mean: "Normalization" = None,
           std: "Normalization" = None,
           mip_cuts: bool = False) -> Union[AttackResult, MinDistortionResult]:
    """An attack, as ``nnopt attack`` (same defaults, messages and JSON).

    ``objective="margin"`` (default): minimise logit[label] - logit[target] over
    the L-inf ball of radius ``eps`` (required) clipped to [0, 1].
    ``objective="min-distortion"``: minimise the ``norm`` (l1, linf, l2) of the
    change subject to logit[target] >= logit[label] + ``gap``; ``target`` is a
    class index (required), ``max_eps`` bounds every pixel change, ``method`` is
    mip, nlp or bab (L-inf only: the local solver's point, then a proven lower
    bound by bisection over the radius with the ReLU branch and bound;
    ``lower_bound`` and ``optimal`` as for the MIP), and the MIP is
    NLP-warm-started unless ``warm_start="none"``.

    ``image``: an :class:`Image` or an array of pixels in [0, 1].
    ``label`` defaults to the image's dataset label, else the clean prediction;
    ``target`` is "runner-up", "all" or a class index; ``method`` is mip, nlp,
    mpec, bab or portfolio; ``mean``/``std`` normalise outside the graph (the
    box stays in pixel space): one number each, or one per channel of a
    C x H x W input (``mean=(0.4914, 0.4822, 0.4465)``). ``time_limit`` is per target, in seconds.
    ``mip_cuts`` is ``--mip-cuts``: ideal-formulation ReLU cuts (Anderson et al.)
    separated at CBC's root (off by default: measured faster on some deeper
    MLPs, slower where first-layer rows are dense).
    A negative ``margin`` is an attack.
    """
    img = _as_image(image)
    if label is None and img.label >= 0:
        label = img.label
    if objective == "min-distortion":
        return _min_distortion(net, img, label, eps, method, target, norm, gap, max_eps, bounds,
                               time_limit, lp_time_limit, warm_start, mean, std, mip_cuts)
    if objective != "margin":
        raise InputError(f"--objective must be margin or min-distortion (got '{objective}')")
    if eps is None:
        raise InputError("--eps is required for the margin objective")
    job = _nnopt.MarginJob()
    job.model_name = net.name
    job.input_name = img.name
    with _Translate():
        job.image = _np.ascontiguousarray(img.pixels, dtype=_np.float64)
        job.label = None if label is None else int(label)
        job.eps = float(eps)
        job.target = "runner-up" if target is None else str(target)
        job.method = str(method)
        job.nlp_form = str(nlp_form)
        job.mpec_form = str(mpec_form)
        job.bounds = str(bounds)
        job.time_limit = float(time_limit)
        job.lp_time_limit = float(lp_time_limit)
        job.mip_cuts = bool(mip_cuts)
        job.early_stop = bool(early_stop)
        job.warm_start = warm_start
        job.mean = _norm_values(mean)
        job.std = _norm_values(std)
        d = _nnopt.margin_attack(net._core, job)
    json_text = d.pop("json")
    return AttackResult(json_text=json_text, image=img, network=net, eps=float(eps),
                        _panel_net=_normalized(net, mean, std), **d)


Normalization = Union[float, Sequence[float], None]


def _norm_values(v: Normalization) -> list:
    """``mean=``/``std=`` as the C++ side takes them: [] (none), [x] (every input)
    or one value per channel."""
    if v is None:
        return []
    a = _np.asarray(v, dtype=_np.float64).reshape(-1)
    return [float(x) for x in a]


def _normalized(net: Network, mean: Normalization, std: Normalization) -> Any:
    if mean is None or std is None:
        return net._core
    return net._core.with_input_normalization(_norm_values(mean), _norm_values(std))


def _min_distortion(net: Network, img: Image, label: Optional[int], eps: Optional[float],
                    method: str, target: Any, norm: str, gap: float, max_eps: Optional[float],
                    bounds: str, time_limit: float, lp_time_limit: float,
                    warm_start: Optional[str], mean: Normalization,
                    std: Normalization, mip_cuts: bool = False) -> MinDistortionResult:
    if eps is not None:
        raise InputError("--eps is not used by --objective min-distortion (bound the pixel "
                         "changes with --max-eps)")
    if target is None:
        raise InputError("--objective min-distortion needs --target K (a class index other "
                         "than the true label)")
    job = _nnopt.MinDistJob()
    job.model_name = net.name
    job.input_name = img.name
    with _Translate():
        try:
            job.target = int(target)
        except (TypeError, ValueError):
            job.target = -1
        job.image = _np.ascontiguousarray(img.pixels, dtype=_np.float64)
        job.label = None if label is None else int(label)
        job.method = str(method)
        job.norm = str(norm)
        job.gap = float(gap)
        job.max_eps = None if max_eps is None else float(max_eps)
        job.bounds = str(bounds)
        job.time_limit = float(time_limit)
        job.lp_time_limit = float(lp_time_limit)
        job.mip_cuts = bool(mip_cuts)
        job.warm_start = warm_start
        job.mean = _norm_values(mean)
        job.std = _norm_values(std)
        d = _nnopt.min_distortion_attack(net._core, job)
    json_text = d.pop("json")
    return MinDistortionResult(json_text=json_text, image=img, network=net,
                               _panel_net=_normalized(net, mean, std), **d)


def save_panel(path: str, net: Network, original: Any, adversarial: Any, *,
               mean: Normalization = None, std: Normalization = None, title: str = "",
               subtitle: str = "", caption: str = "adversarial") -> None:
    """Write the CLI's attack panel (original, adversarial, signed perturbation,
    each captioned with the prediction and softmax confidence) for any pair of
    28x28-style gray or 3 x H x W RGB images in pixel space, e.g. a :class:`Model`
    solution; ``mean``/``std`` (one number or one per channel) normalise the
    pixels before ``net``. RGB images are drawn in colour, their perturbation
    per channel (three tiles R, G, B on one blue-white-red scale)."""
    x0 = _vec(original, "original")
    x1 = _vec(adversarial, "adversarial")
    if x0.size != x1.size or x0.size != net.input_size:
        raise InputError(f"save_panel: images of {x0.size} and {x1.size} values for a network "
                         f"with {net.input_size} inputs")
    shape = net.input_shape
    channels, rows, cols = (shape if len(shape) == 3 else (1,) + tuple(shape[-2:])
                            if len(shape) >= 2 else (1, 1, x0.size))
    with _Translate():
        core = _normalized(net, mean, std)
        _nnopt.write_panel(_os.fspath(path), x0, x1, int(channels), int(rows), int(cols),
                           core.forward(x0.reshape(1, -1))[0], core.forward(x1.reshape(1, -1))[0],
                           title, subtitle, caption)


@dataclass
class VerifyResult:
    """Result of :func:`verify`: the VNN-COMP answer and, for sat, the counterexample."""

    answer: str
    x: _np.ndarray
    y: _np.ndarray
    decided_by: str
    reason: str
    time_s: float
    result_file: str
    nodes: int = 0  # input B&B and MIP nodes
    # The smallest share of its disjunct's domain a ReLU B&B run that stopped
    # undecided had closed (1 - sum of 2^-depth over its open nodes; verify
    # --json's relu_bab.closed_fraction); 1.0 when no run stopped.
    closed_fraction: float = 1.0

    @property
    def verdict(self) -> str:
        """Same as ``answer``: sat, unsat, timeout or unknown."""
        return self.answer


def verify(net: Network, vnnlib: str, timeout: float = 60.0, *,
           prover: str = "auto", threads: int = 0, root_alpha: Optional[int] = None,
           exact_unstable: Optional[int] = None, seed: int = 0) -> VerifyResult:
    """Decide a VNN-LIB property, as ``nnopt verify`` (sat only after a replay).
    ``prover`` is ``--prover``: auto (input B&B for <= 10 inputs, else the ReLU
    B&B), input-bab, relu-bab, mip, portfolio (the ReLU B&B and CBC racing per
    disjunct) or none; ``decided_by`` names the methods that decided.
    ``threads`` (0 = all cores), ``root_alpha`` (alpha-CROWN steps of the root
    tightening on high-dimensional inputs, 0 = LP tightening instead),
    ``exact_unstable`` (input B&B: leaves with at most this many unstable ReLUs
    go to the ReLU B&B, -1 = off) and ``seed`` are the CLI's ``--threads``,
    ``--root-alpha``, ``--exact-unstable`` and ``--seed`` (None: the CLI's default).
    Ctrl-C stops every stage within about a second and raises ``KeyboardInterrupt``."""
    with _Translate():
        opt = {}  # None: the C++ default (one source of truth for the defaults)
        if root_alpha is not None:
            opt["root_alpha"] = int(root_alpha)
        if exact_unstable is not None:
            opt["exact_unstable"] = int(exact_unstable)
        d = _nnopt.verify(net._core, _os.fspath(vnnlib), float(timeout), str(prover),
                          threads=int(threads), seed=int(seed), **opt)
    return VerifyResult(**d)


from .expressions import (  # noqa: E402  (uses the classes above)
    Constraint,
    LinExpr,
    Variables,
    absolute,
    concatenate,
    l1,
    linf,
    stack,
)
from .modeling import Model, NetworkCheck, NetworkEmbedding, Solution  # noqa: E402
from .robustness import EpsSummary, RadiusSummary, RobustnessResult, robustness  # noqa: E402
__all__ += ["robustness", "RobustnessResult", "EpsSummary", "RadiusSummary"]
from .batch import (  # noqa: E402
    BatchResult,
    BatchRow,
    BoundsResult,
    BoxBounds,
    LayerBounds,
    MethodBounds,
    ReluCounts,
    ScoreSummary,
    SweepResult,
    bounds,
    score,
    sweep,
    verify_batch,
)
