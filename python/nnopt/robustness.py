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
class RobustnessResult:
    """Result of :func:`robustness`: the per-eps summary of everything in
    ``out/results.jsonl`` and what this call did."""

    summary: List[EpsSummary]
    images_run: int
    images_skipped: int
    files: List[str]
    wall_s: float
    out: str

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
               mean: Optional[float] = None, std: Optional[float] = None,
               time_limit: float = 60.0, method: str = "auto", infer: bool = True,
               resume: bool = False,
               progress: Optional[Callable[[dict], Any]] = None) -> RobustnessResult:
    """Run ``nnopt robustness`` on an ONNX file and a dataset (MNIST IDX or CSV).

    ``eps``: the L-inf budgets (pixel space); ``limit``/``indices``: which
    images (default all); ``method``: the exact route (auto, verify, portfolio,
    mip, bab, none); ``infer=False`` solves every eps on its own;
    ``progress(dict)`` is called after every image. Bad input raises
    :class:`nnopt.InputError` with the CLI's one-line message.
    """
    from . import _Translate

    if isinstance(eps, (int, float)):
        eps = [eps]
    with _Translate():
        d = _nnopt.robustness(os.fspath(model), os.fspath(dataset), [float(e) for e in eps],
                              int(limit or 0), [int(i) for i in (indices or [])], mean, std,
                              float(time_limit), method, bool(infer), os.fspath(out), bool(resume),
                              "nnopt.robustness(...)", progress)
    rows = json.loads(d["summary_json"])["per_eps"]
    return RobustnessResult(summary=[EpsSummary(**r) for r in rows], images_run=d["images_run"],
                            images_skipped=d["images_skipped"], files=list(d["files"]),
                            wall_s=float(d["wall_s"]), out=os.fspath(out))
