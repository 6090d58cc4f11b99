"""nnopt.bounds, nnopt.sweep, nnopt.verify_batch and nnopt.score: the CLI's
``bounds``, ``sweep``, ``verify-batch`` and ``score`` commands as functions
with the same checks, defaults and files, returning typed results."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np

from . import _nnopt


def _base() -> Any:
    from . import Image, InputError, Network, _Translate  # import cycle: resolved at call time

    return Image, InputError, Network, _Translate


Normalization = Union[float, Sequence[float], None]  # one value, or one per channel


def _norm_values(v: Normalization) -> list:
    from . import _norm_values as f

    return f(v)


def _norm_json(v: Normalization) -> Any:
    """--json's mean/std: a number for one value, a list for one per channel."""
    a = _norm_values(v)
    return a[0] if len(a) == 1 else a


# ----------------------------------------------------------------------------- bounds
@dataclass
class ReluCounts:
    """ReLU neurons by phase over a bound table (pre-activation sign)."""

    active: int = 0
    inactive: int = 0
    unstable: int = 0


@dataclass
class LayerBounds:
    """One ReLU/LeakyReLU layer: phase counts and mean pre-activation width."""

    layer: int
    name: str
    counts: ReluCounts
    mean_width: float


@dataclass
class MethodBounds:
    """Bounds of one method over one box: ``lo[i]``/``hi[i]`` bound layer i's
    output (numpy), per-ReLU-layer statistics and the totals."""

    method: str
    time_s: float
    lo: List[np.ndarray]
    hi: List[np.ndarray]
    layers: List[LayerBounds]
    total: ReluCounts
    mean_width: float
    lp: Optional[dict] = None  # LP tightening statistics (method "lp")

    def to_dict(self) -> dict:
        """The CLI's JSON object for this method."""
        def counts(c: ReluCounts) -> dict:
            return {"active": c.active, "inactive": c.inactive, "unstable": c.unstable}

        d: Dict[str, Any] = {"method": self.method, "time_s": self.time_s,
                             "total": dict(counts(self.total), mean_width=self.mean_width),
                             "layers": [dict(counts(l.counts), layer=l.layer, name=l.name,
                                             mean_width=l.mean_width) for l in self.layers]}
        if self.lp is not None:
            d["lp"] = dict(self.lp)
        return d


@dataclass
class BoxBounds:
    """All methods over one input box (a VNN-LIB property may have several)."""

    box: int
    input_width_mean: float
    methods: List[MethodBounds]

    def __getitem__(self, method: str) -> MethodBounds:
        for m in self.methods:
            if m.method == method:
                return m
        raise KeyError(method)


@dataclass
class BoundsResult:
    """Result of :func:`bounds` (``nnopt bounds``)."""

    model: str
    network: str
    relu_neurons: int
    input: str
    boxes: List[BoxBounds]
    eps: Optional[float] = None
    mean: Normalization = None  # a number, or one per channel
    std: Normalization = None
    lp_time_limit_s: float = 60.0

    def to_dict(self) -> dict:
        """The CLI's ``--json`` content."""
        d: Dict[str, Any] = {"model": self.model, "network": self.network,
                             "relu_neurons": self.relu_neurons, "input": self.input}
        if self.eps is not None:
            d["eps"] = self.eps
        if self.mean is not None:
            d["mean"], d["std"] = _norm_json(self.mean), _norm_json(self.std)
        d["lp_time_limit_s"] = self.lp_time_limit_s
        d["boxes"] = [{"box": b.box, "input_width_mean": b.input_width_mean,
                       "methods": [m.to_dict() for m in b.methods]} for b in self.boxes]
        return d

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=2)


def _summarise(net: Any, layers: list, t: dict) -> MethodBounds:
    lo = [np.asarray(a) for a in t["lo"]]
    hi = [np.asarray(a) for a in t["hi"]]
    stats, total, width_sum, n = [], ReluCounts(), 0.0, 0
    for i, layer in enumerate(layers):
        if layer["kind"] not in ("Relu", "LeakyRelu"):
            continue
        plo = np.asarray(t["in_lo"]) if i == 0 else lo[i - 1]
        phi = np.asarray(t["in_hi"]) if i == 0 else hi[i - 1]
        c = ReluCounts(active=int(np.sum(plo >= 0)), inactive=int(np.sum((plo < 0) & (phi <= 0))),
                       unstable=int(np.sum((plo < 0) & (phi > 0))))
        w = float(np.sum(phi - plo))
        stats.append(LayerBounds(layer=i, name=layer["name"], counts=c,
                                 mean_width=w / plo.size if plo.size else 0.0))
        width_sum += w
        n += plo.size
        total.active += c.active
        total.inactive += c.inactive
        total.unstable += c.unstable
    return MethodBounds(method=t["method"], time_s=float(t["time_s"]), lo=lo, hi=hi, layers=stats,
                        total=total, mean_width=width_sum / n if n else 0.0, lp=t["lp"])


def bounds(net: Any, image: Any = None, *, eps: Optional[float] = None,
           vnnlib: Optional[str] = None, methods: Sequence[str] = ("interval", "crown", "lp"),
           lp_time_limit: float = 60.0, mean: Normalization = None,
           std: Normalization = None) -> BoundsResult:
    """Interval, CROWN and LP-tightened bounds over an input region, as ``nnopt bounds``.

    The region is the L-inf ball of radius ``eps`` around ``image`` (an
    :class:`Image` or pixels) clipped to [0, 1], or the input box(es) of a
    VNN-LIB property. Returns every layer's bounds (numpy) per method and
    box, with the command's ReLU phase counts and mean widths
    (``to_json()`` = its ``--json``). Ctrl-C stops the LP tightening within
    about a second and raises ``KeyboardInterrupt``.
    """
    Image, InputError, Network, _Translate = _base()
    if not isinstance(net, Network):
        raise InputError(f"bounds: expected an nnopt.Network, got {type(net).__name__}")
    if (image is None) == (vnnlib is None):
        raise InputError("bounds needs exactly one input: vnnlib=FILE, or an image with eps=E")
    if vnnlib is not None and eps is not None:
        raise InputError("--eps does not apply to --vnnlib (the file gives the box)")
    if vnnlib is None and eps is None:
        raise InputError("--eps E is required with --dataset or --image")
    if eps is not None and not (np.isfinite(eps) and eps >= 0):
        raise InputError(f"--eps must be a finite number >= 0 (got {eps})")
    if not lp_time_limit > 0:
        raise InputError("--lp-time-limit must be > 0")
    if (mean is None) != (std is None):
        raise InputError("--mean and --std must be given together")
    if std is not None and not all(s > 0 and np.isfinite(s) for s in _norm_values(std)):
        raise InputError("--std must be > 0")
    names: List[str] = []
    for m in [methods] if isinstance(methods, str) else methods:
        if m not in ("interval", "crown", "lp"):
            raise InputError(f"unknown bounds method '{m}' (use interval, crown or lp)")
        if m not in names:
            names.append(m)
    if not names:
        raise InputError("--methods is empty (use interval, crown and/or lp)")
    with _Translate():
        core = net._core if mean is None else net._core.with_input_normalization(
            _norm_values(mean), _norm_values(std))
        if vnnlib is not None:
            boxes = _nnopt.vnnlib_boxes(os.fspath(vnnlib), net.input_size, net.output_size)
            label = os.fspath(vnnlib)
        else:
            img = image if isinstance(image, Image) else Image(pixels=np.asarray(image, float).reshape(-1))
            label = img.name
            px = np.asarray(img.pixels, dtype=np.float64).reshape(-1)
            if px.size != net.input_size:
                raise InputError(f"{label}: image has {px.size} pixels but {net.name} expects "
                                 f"{net.input_size} inputs")
            boxes = [(np.clip(px - eps, 0.0, 1.0), np.clip(px + eps, 0.0, 1.0))]
        if not boxes:
            raise InputError(label + ": no input box")
        layers = core.layers()
        out = []
        for b, (lo, hi) in enumerate(boxes):
            tables = _nnopt.bound_tables(core, np.asarray(lo), np.asarray(hi), names,
                                         float(lp_time_limit))
            out.append(BoxBounds(box=b, input_width_mean=float(np.mean(np.asarray(hi) - np.asarray(lo))),
                                 methods=[_summarise(core, layers, t) for t in tables]))
    return BoundsResult(model=net.name, network=core.summary(), relu_neurons=int(core.relu_neurons),
                        input=label, boxes=out, eps=eps, mean=mean, std=std,
                        lp_time_limit_s=float(lp_time_limit))


# ----------------------------------------------------------------------------- sweep
@dataclass
class SweepResult:
    """Result of :func:`sweep`: one record per (network, method) in ``out``'s
    results.jsonl (networks by size), the summary block and the files written."""

    records: List[dict]
    ran: int
    skipped: int
    files: List[str]
    summary: List[str]
    out: str
    dropped_partial_line: bool = False

    @property
    def table_md(self) -> str:
        """The Markdown table (``out/table.md``) as text."""
        with open(os.path.join(self.out, "table.md")) as f:
            return f.read()

    def record(self, network: str, method: str) -> dict:
        """The record of one (network file name, method) pair."""
        for r in self.records:
            if r["network"] == network and r["method"] == method:
                return r
        raise KeyError((network, method))


def sweep(models: Union[str, Sequence[str]], dataset: str, *, eps: float, methods: Sequence[str],
          out: str, index: int = 0, starts: int = 0, early_stop: bool = False, threads: int = 0,
          time_limit: float = 600.0, resume: bool = False, mean: Normalization = None,
          std: Normalization = None, label: Optional[int] = None, target: str = "runner-up",
          progress: Optional[Callable[[dict], None]] = None) -> SweepResult:
    """The MIP-vs-NLP study on one image, as ``nnopt sweep`` (same files in ``out``:
    results.jsonl, table.md/csv, summary.json, times.svg/png; ``resume`` skips
    finished pairs). ``methods``: ``mip``, ``portfolio`` (CBC and the ReLU BaB
    racing), ``exact`` (per network: the portfolio from 60 ReLUs unstable under
    CROWN, else CBC; the record's ``decided_by`` names the one chosen), ``nlp``,
    ``nlp:<form>``, ``mpec:<form>``, ``auto``. ``progress(dict)`` is called after
    every run. Ctrl-C stops the run in flight within about a second and raises
    ``KeyboardInterrupt``:
    that run is not recorded, results.jsonl keeps the whole records of the
    finished ones, so ``resume=True`` goes on from there."""
    _, InputError, _, _Translate = _base()
    p = _nnopt.SweepParams()
    p.models = [os.fspath(models)] if isinstance(models, (str, os.PathLike)) else [os.fspath(m) for m in models]
    p.dataset = os.fspath(dataset)
    p.index = int(index)
    p.eps = float(eps)
    p.methods = [methods] if isinstance(methods, str) else list(methods)
    p.starts = int(starts)
    p.early_stop = bool(early_stop)
    p.threads = int(threads)
    p.time_limit = float(time_limit)
    p.out_dir = os.fspath(out)
    p.resume = bool(resume)
    p.mean = _norm_values(mean)
    p.std = _norm_values(std)
    p.label = None if label is None else int(label)
    p.target = str(target)
    if progress is not None and not callable(progress):
        raise InputError("sweep: progress must be callable")
    cb = None
    if progress is not None:
        def cb(d: dict) -> None:
            rec = d.pop("record")
            d["record"] = None if rec is None else json.loads(rec)
            progress(d)
    with _Translate():
        d = _nnopt.sweep(p, cb)
    return SweepResult(records=[json.loads(r) for r in d["records"]], ran=int(d["ran"]),
                       skipped=int(d["skipped"]), files=list(d["files"]), summary=list(d["summary"]),
                       out=p.out_dir, dropped_partial_line=bool(d["dropped_partial_line"]))


# ----------------------------------------------------------------------------- verify-batch
@dataclass
class BatchRow:
    """One instance of :func:`verify_batch` (a row of its results file, plus the detail)."""

    network: str
    property: str
    result: str
    time_s: float
    detail: str = ""


@dataclass
class BatchResult:
    """Result of :func:`verify_batch`: the rows run now, in order, and the counts."""

    rows: List[BatchRow]
    skipped: int
    out: str
    counts: Dict[str, int] = field(default_factory=dict)


def _join(d: str, rel: str) -> str:
    return rel if not d or os.path.isabs(rel) else os.path.join(d, rel)


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def verify_batch(*, out: str, instances: Optional[str] = None, reference: Optional[str] = None,
                 dir: str = "", resume: bool = False, timeout_scale: float = 1.0, limit: int = 0,
                 ce_dir: Optional[str] = None, prover: str = "auto",
                 progress: Optional[Callable[[BatchRow], None]] = None) -> BatchResult:
    """An instance list (VNN-COMP instances.csv, or the reference.csv of
    :func:`score`) verified one by one, as ``nnopt verify-batch``: each result
    appended to ``out`` as one whole, fsynced CSV row
    (network,property,result,time_s); ``resume`` skips instances already
    there; a bad instance gives an ``error`` row, not an exception; ``ce_dir``
    receives the counterexample files of sat answers; ``prover`` is
    ``--prover`` (see :func:`nnopt.verify`). Only one writer per
    results file at a time. Ctrl-C stops the instance in flight within about a
    second and raises ``KeyboardInterrupt``; that instance gets no row, so
    ``resume=True`` runs it again."""
    import fcntl

    _, InputError, Network, _Translate = _base()
    if (instances is None) == (reference is None):
        raise InputError("verify-batch needs --instances FILE or --reference FILE")
    if not (timeout_scale > 0 and np.isfinite(timeout_scale)):
        raise InputError(f"--timeout-scale must be > 0 (got {timeout_scale})")
    provers = ("auto", "input-bab", "mip", "relu-bab", "portfolio", "none")
    if prover not in provers:
        raise InputError(f"unknown prover '{prover}' (supported: {', '.join(provers)})")
    with _Translate():
        todo = _nnopt.read_instances(os.fspath(instances or ""), os.fspath(reference or ""))
    out = os.fspath(out)
    try:
        lock = os.open(out, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        raise InputError(f"{out}: cannot open for appending") from None
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise InputError(f"{out}: another nnopt verify-batch is writing to this file") from None
        with _Translate():
            _nnopt.drop_partial_last_line(out)
            done = set()
            if resume:
                done = {(r[0], r[1]) for r in _nnopt.read_results_csv(out)}
        runs, skipped = [], 0
        for onnx, vnnlib, timeout in todo:
            key = (_nnopt.base_name(onnx), _nnopt.base_name(vnnlib))
            if key in done:
                skipped += 1
                continue
            done.add(key)
            runs.append((onnx, vnnlib, timeout))
        if limit > 0:
            runs = runs[:limit]
        nets: Dict[str, Any] = {}
        rows: List[BatchRow] = []
        counts: Dict[str, int] = {}
        for onnx, vnnlib, timeout in runs:
            row = _run_instance(_join(dir, onnx), _join(dir, vnnlib), timeout * timeout_scale, nets,
                                ce_dir, Network, prover)
            with _Translate():
                _nnopt.append_result_row(out, row.network, row.property, row.result, row.time_s)
            counts[row.result] = counts.get(row.result, 0) + 1
            rows.append(row)
            if progress is not None:
                progress(row)
        return BatchResult(rows=rows, skipped=skipped, out=out, counts=counts)
    finally:
        os.close(lock)


def _run_instance(onnx: str, vnnlib: str, timeout: float, nets: dict, ce_dir: Optional[str],
                  Network: Any, prover: str = "auto") -> BatchRow:
    import time

    from . import Error, verify

    t0 = time.monotonic()
    result, detail = "error", ""
    try:
        if onnx not in nets:
            nets[onnx] = Network.from_onnx(onnx)
        r = verify(nets[onnx], vnnlib, timeout=max(0.05, timeout - (time.monotonic() - t0)),
                   prover=prover)
        result = r.answer
        detail = "by " + r.decided_by if r.decided_by else r.reason
        if r.answer == "sat" and ce_dir:
            with open(os.path.join(ce_dir, f"{_stem(onnx)}_{_stem(vnnlib)}.counterexample"), "w") as f:
                f.write(r.result_file)
    except (Error, OSError) as e:
        result, detail = "error", str(e)
    return BatchRow(network=os.path.basename(onnx), property=os.path.basename(vnnlib), result=result,
                    time_s=round(time.monotonic() - t0, 6),
                    detail=detail.replace("\n", " ").replace("\t", " "))


# ----------------------------------------------------------------------------- score
@dataclass
class ScoreSummary:
    """Result of :func:`score` (``nnopt score``)."""

    total: int
    correct_sat: int
    correct_unsat: int
    wrong: int
    unsolved: int
    missing: int
    unchecked: int
    wrong_list: List[str]
    total_time_s: float
    median_time_s: float
    median_solved_time_s: float


def score(results: str, reference: str) -> ScoreSummary:
    """A results file of :func:`verify_batch` scored against a reference.csv."""
    _, _, _, _Translate = _base()
    with _Translate():
        d = _nnopt.score(os.fspath(results), os.fspath(reference))
    return ScoreSummary(**d)
