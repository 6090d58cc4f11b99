"""nnopt.robustness: ``nnopt robustness`` as a function - certified and
attacked robust accuracy of a network over a dataset at several eps, with the
CLI's checks, defaults and files (OUT/results.jsonl, summary.json,
summary.csv, panels/, report.html)."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence, Union

from . import _nnopt

PathLike = Union[str, "os.PathLike[str]"]


@dataclass
class EpsSummary:
    """One eps of the summary (``summary.json``'s ``per_eps`` rows)."""

    eps: float
    images: int
    misclassified: int
    certified: int
    attacked: int
    unknown: int
    clean_accuracy: float
    certified_accuracy: float  # a lower bound of the robust accuracy
    attacked_upper: float      # 1 - (attacked + misclassified) / images: an upper bound
    solved: int
    inferred: int              # decided from another eps without a solve
    upgraded: int              # solved to unknown, then decided by another eps
    median_time_s: Optional[float]
    mean_time_s: Optional[float]
    max_time_s: Optional[float]


@dataclass
class RadiusSummary:
    """``summary.json``'s ``radius`` object (``radius=True``): over the correctly
    classified images, certified_lo <= minimal adversarial L-inf distance <=
    attacked_hi."""

    images: int
    closed: int                # intervals at most the tolerance wide
    attacked: int              # images with a replayed counterexample
    median_certified_lo: Optional[float]
    mean_certified_lo: Optional[float]
    median_attacked_hi: Optional[float]  # over the images with a counterexample
    mean_attacked_hi: Optional[float]
    probes: int


@dataclass
class RobustnessResult:
    """Result of :func:`robustness`: the per-eps summary of everything in
    ``out/results.jsonl`` and what this call did."""

    summary: List[EpsSummary]
    images_run: int
    images_skipped: int
    files: List[str]
    wall_s: float
    out: str
    radius: Optional[RadiusSummary] = None

    def radii(self) -> List[dict]:
        """The radius lines of ``results.jsonl`` (one dict per image: ``certified_lo``,
        ``attacked_hi`` (None: no counterexample found), ``closed``, ``probes``, ...)."""
        from . import _Translate

        with _Translate():
            return [json.loads(r) for r in _nnopt.robustness_radii(os.path.join(self.out, "results.jsonl"))]

    def records(self) -> List[dict]:
        """Every row of ``results.jsonl`` (one dict per image and eps)."""
        from . import _Translate

        with _Translate():
            return [json.loads(r) for r in _nnopt.robustness_records(os.path.join(self.out, "results.jsonl"))]

    def __getitem__(self, eps: float) -> EpsSummary:
        for s in self.summary:
            if abs(s.eps - eps) <= 1e-12:
                return s
        raise KeyError(eps)


def robustness(model: PathLike, dataset: PathLike, eps: Sequence[float], *, out: PathLike,
               limit: Optional[int] = None, indices: Optional[Sequence[int]] = None,
               mean: Union[float, Sequence[float], None] = None,
               std: Union[float, Sequence[float], None] = None,
               time_limit: float = 60.0, method: str = "auto", infer: bool = True,
               resume: bool = False, radius: bool = False, radius_tol: float = 1e-3,
               radius_probes: int = 12,
               progress: Optional[Callable[[dict], Any]] = None) -> RobustnessResult:
    """Run ``nnopt robustness`` on an ONNX file and a dataset (MNIST IDX, CIFAR-10
    ``*.bin`` or CSV); ``mean``/``std``: one number each or one per channel.

    ``eps``: the L-inf budgets (pixel space); ``limit``/``indices``: which
    images (default all); ``method``: the exact route (auto, verify, portfolio,
    mip, bab, none); ``infer=False`` solves every eps on its own;
    ``progress(dict)`` is called after every image; ``radius=True`` also
    bisects each image's L-inf radius (``--radius``: ``radius_tol``,
    ``radius_probes``; :meth:`RobustnessResult.radii`). Bad input raises
    :class:`nnopt.InputError` with the CLI's one-line message. Ctrl-C raises
    KeyboardInterrupt: the image in flight is dropped, the finished ones stay
    in ``results.jsonl`` and ``resume=True`` continues.
    """
    from . import _Translate, _norm_values

    if isinstance(eps, (int, float)):
        eps = [eps]
    with _Translate():
        d = _nnopt.robustness(os.fspath(model), os.fspath(dataset), [float(e) for e in eps],
                              int(limit or 0), [int(i) for i in (indices or [])],
                              _norm_values(mean), _norm_values(std),
                              float(time_limit), method, bool(infer), os.fspath(out), bool(resume),
                              "nnopt.robustness(...)", bool(radius), float(radius_tol),
                              int(radius_probes), progress)
    summary = json.loads(d["summary_json"])
    rows = summary["per_eps"]
    return RobustnessResult(summary=[EpsSummary(**r) for r in rows], images_run=d["images_run"],
                            images_skipped=d["images_skipped"], files=list(d["files"]),
                            wall_s=float(d["wall_s"]), out=os.fspath(out),
                            radius=RadiusSummary(**summary["radius"]) if "radius" in summary else None)
