"""The modelling API: embed trained networks in your own optimisation model.

    >>> m = nnopt.Model()
    >>> x = m.add_vars(784, lb=0.0, ub=1.0, name="x")
    >>> y = m.add_network(net, x, relu="bigm")           # the logits, a variable array
    >>> m.add_constraint(y[2] >= y[7] + 0.1)
    >>> m.minimize(nnopt.l1(x - x0))
    >>> sol = m.solve(solver="cbc", time_limit=60)
    >>> sol[x], sol[y], sol.objective

Expressions and norms are in ``expressions.py``; this file holds the model,
its network embeddings and solutions. Rows go to the C++ model in one call per
constraint.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _nnopt
from .expressions import Constraint, LinExpr, Variables, _errors

_RELU_FORMS = ("product", "inequality", "scholtes", "fb", "cm")
_SOLVERS = ("cbc", "clp", "ipopt")


def _shape_of(shape: Union[int, Sequence[int]]) -> Tuple[int, ...]:
    InputError = _errors()[0]
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        out = tuple(int(s) for s in shape)
    except TypeError:
        raise InputError(f"add_vars: shape must be an int or a tuple of ints (got {shape!r})") from None
    if any(s < 0 for s in out):
        raise InputError(f"add_vars: negative dimension in shape {out}")
    return out


@dataclass(eq=False)  # fields hold expressions / arrays: compare by identity
class NetworkEmbedding:
    """One network in a model: its input expression, output variables and formulation."""

    network: Any
    inputs: LinExpr
    outputs: Variables
    relu: str
    bounds: str
    binaries: int
    unstable_relus: int
    stable_relus: int
    output_lo: np.ndarray
    output_hi: np.ndarray


@dataclass(eq=False)  # fields hold expressions / arrays: compare by identity
class NetworkCheck:
    """A network's outputs in a solution against its forward pass from the solution's inputs."""

    index: int
    forward: np.ndarray      # logits from Network.forward(sol[inputs])
    solution: np.ndarray     # sol[outputs]
    max_error: float         # max |forward - solution| / (1 + |forward|)
    ok: bool


@dataclass(eq=False)  # fields hold expressions / arrays: compare by identity
class Solution:
    """A solve's result; ``sol[expr]`` is the value of any expression as numpy."""

    status: str
    objective: float
    bound: float
    time_s: float
    iterations: int
    message: str
    x: np.ndarray
    solver: str
    checks: List[NetworkCheck] = field(default_factory=list)
    complementarity_violation: float = 0.0
    max_violation: float = float("nan")
    _model: Any = None

    @property
    def has_point(self) -> bool:
        """Whether the solver returned a point."""
        return self.x.size > 0

    @property
    def ok(self) -> bool:
        """A point whose every network output matches the forward pass."""
        return self.has_point and all(c.ok for c in self.checks)

    def __getitem__(self, expr: LinExpr) -> np.ndarray:
        return self.value(expr)

    def value(self, expr: LinExpr) -> np.ndarray:
        """Value of an expression (numpy, the expression's shape)."""
        if not isinstance(expr, LinExpr) or expr.model is not self._model:
            raise _errors()[0]("sol[...] takes an expression of the model that was solved")
        if not self.has_point:
            raise _errors()[0](f"no solution point (status {self.status}: {self.message})")
        return expr._value(self.x)

    def __repr__(self) -> str:
        return (f"nnopt.Solution(status={self.status!r}, objective={self.objective:.6g}, "
                f"bound={self.bound:.6g}, solver={self.solver!r}, time_s={self.time_s:.3f}, "
                f"networks_ok={self.ok})")


def _parse_relu(relu: str) -> Tuple[str, str]:
    if relu == "bigm":
        return "bigm", ""
    if relu == "complementarity":
        return "complementarity", "scholtes"
    if isinstance(relu, str) and relu.startswith("mpec:") and relu[5:] in _RELU_FORMS:
        return "complementarity", relu[5:]
    raise _errors()[0](f"add_network: unknown relu formulation {relu!r} (bigm, complementarity, "
                       f"mpec:{'|'.join(_RELU_FORMS)})")


class Model:
    """An optimisation model with embedded networks, solved by CBC, Clp or Ipopt.

    Variables come from :meth:`add_vars`, networks from :meth:`add_network`
    (their outputs are new variables tied to the inputs by the network's
    exact encoding), constraints from :meth:`add_constraint`, the objective
    from :meth:`minimize` / :meth:`maximize`.
    """

    def __init__(self, name: str = "model") -> None:
        """An empty model."""
        self.name = name
        self._core = _nnopt.ModelCore()
        self.networks: List[NetworkEmbedding] = []
        self._names: dict = {}
        self._lb = np.zeros(0)
        self._ub = np.zeros(0)
        self._has_objective = False
        self.vars: Optional[Variables] = None  # all columns, for a model read from a file

    # --- variables -----------------------------------------------------------------
    def _unique(self, name: Optional[str], default: str) -> str:
        base = name or default
        k = self._names.get(base, 0)
        self._names[base] = k + 1
        return base if k == 0 else f"{base}{k}"

    def add_vars(self, shape: Union[int, Sequence[int]] = (), lb: Any = -np.inf, ub: Any = np.inf,
                 integer: bool = False, name: Optional[str] = None,
                 start: Any = None) -> Variables:
        """New variables of the given shape (``()`` for one), bounds broadcast to it.

        ``start`` (optional, broadcast) is the initial point for Ipopt; it is
        clamped into the bounds (default: 0 clamped). Names are
        ``name_i_j...`` in written files.
        """
        InputError, _, _Translate = _errors()
        shp = _shape_of(shape)
        try:
            lo = np.ascontiguousarray(np.broadcast_to(np.asarray(lb, dtype=np.float64), shp)).reshape(-1)
            hi = np.ascontiguousarray(np.broadcast_to(np.asarray(ub, dtype=np.float64), shp)).reshape(-1)
            st = np.ascontiguousarray(np.broadcast_to(np.asarray(0.0 if start is None else start,
                                                                 dtype=np.float64), shp)).reshape(-1)
        except ValueError as e:
            raise InputError(f"add_vars: bounds/start do not broadcast to shape {shp} ({e})") from None
        nm = self._unique(name, "v")
        self._bounds(np.zeros(0, dtype=np.int64))  # cache in step with the C++ model first
        with _Translate():
            first = self._core.add_vars(lo, hi, bool(integer), nm, list(shp), st)
        self._lb = np.concatenate([self._lb, lo])
        self._ub = np.concatenate([self._ub, hi])
        idx = np.arange(first, first + lo.size, dtype=np.int64).reshape(shp)
        return Variables._of_vars(self, idx)  # type: ignore[return-value]

    def _bounds(self, cols: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        if self._lb.size != self._core.num_vars:  # network variables were added in C++
            lo, hi = self._core.var_bounds(np.arange(self._core.num_vars, dtype=np.int64))
            self._lb, self._ub = np.asarray(lo), np.asarray(hi)
        return self._lb[cols], self._ub[cols]

    # --- constraints and objective -----------------------------------------------------
    def add_constraint(self, constraint: Union[Constraint, Sequence[Constraint]],
                       name: Optional[str] = None) -> int:
        """Add a constraint (any shape: one row per entry, or a list of them).

        Returns the number of rows added. A constant entry that does not hold
        raises :class:`InputError`; one that holds adds no row.
        """
        InputError, _, _Translate = _errors()
        if isinstance(constraint, (list, tuple)):
            return sum(self.add_constraint(c, name) for c in constraint)
        if isinstance(constraint, (bool, np.bool_)):
            raise InputError("add_constraint: got a bool, not a constraint (compare an nnopt "
                             "expression, not plain numbers)")
        if not isinstance(constraint, Constraint):
            raise InputError(f"add_constraint: expected a constraint (expr <= / >= / == ...), got "
                             f"{type(constraint).__name__}")
        e = constraint.expr
        if e.model is not self:
            raise InputError("add_constraint: the constraint belongs to another model")
        e = e._compact()
        counts = np.diff(e.indptr)
        lo = np.full(e.size, constraint.lo) - e.const
        hi = np.full(e.size, constraint.hi) - e.const
        empty = counts == 0
        if np.any(empty & ((lo > 1e-9) | (hi < -1e-9))):
            raise InputError("add_constraint: a constant entry of the constraint does not hold")
        keep = ~empty
        if not np.all(keep):
            e = e._gather(np.flatnonzero(keep), (int(keep.sum()),))
            lo, hi = lo[keep], hi[keep]
        if e.size == 0:
            return 0
        with _Translate():
            self._core.add_rows(e.indptr, e.cols, e.vals, lo, hi, self._unique(name, "c"))
        return e.size

    def _set_objective(self, expr: Any, maximize: bool) -> None:
        InputError, _, _Translate = _errors()
        if not isinstance(expr, LinExpr):
            raise InputError("the objective must be an nnopt expression")
        if expr.model is not self:
            raise InputError("the objective belongs to another model")
        if expr.size != 1:
            raise InputError(f"the objective must be a scalar expression (got shape {expr.shape}; "
                             f"use .sum(), nnopt.l1 or nnopt.linf)")
        e = expr.reshape(1)._compact()
        with _Translate():
            self._core.set_objective(e.cols, e.vals, float(e.const[0]), maximize)
        self._has_objective = True

    def minimize(self, expr: LinExpr) -> None:
        """Set the objective: minimise a scalar linear expression."""
        self._set_objective(expr, False)

    def maximize(self, expr: LinExpr) -> None:
        """Set the objective: maximise a scalar linear expression."""
        self._set_objective(expr, True)

    # --- networks ----------------------------------------------------------------------------
    def add_network(self, net: Any, x: LinExpr, relu: str = "bigm", bounds: str = "crown",
                    name: Optional[str] = None, lp_time_limit: float = 10.0) -> Variables:
        """Embed ``net`` with input ``x``; returns its outputs (logits) as variables.

        ``x`` is an expression with ``net.input_size`` entries (any shape, C
        order); it must be bounded (variable bounds, or an expression of
        bounded variables), since the big-M constants and the complementarity
        variables' bounds come from bounds on every neuron that nnopt computes
        over that box (``bounds``: interval, crown or lp). ``relu``: "bigm"
        (exact MIP: one binary per unstable ReLU, solve with cbc),
        "complementarity" (the NLP with Scholtes relaxation y*s <= tau, tau
        1 -> 1e-8, solved with ipopt) or "mpec:FORM", FORM one of product
        (y*s = 0), inequality (y*s <= 0), scholtes, fb (Fischer-Burmeister),
        cm (Chen-Mangasarian). Tanh/Sigmoid networks need a complementarity
        form (an NLP); a MIP cannot encode them.
        """
        from . import Network

        InputError, _, _Translate = _errors()
        if not isinstance(net, Network):
            raise InputError(f"add_network: expected an nnopt.Network, got {type(net).__name__}")
        if not isinstance(x, LinExpr) or x.model is not self:
            raise InputError("add_network: x must be an expression of this model (from add_vars)")
        kind, form = _parse_relu(relu)
        if x.size != net.input_size:
            raise InputError(f"add_network: x has shape {x.shape} ({x.size} values) but network "
                             f"'{net.name}' takes {net.input_size} inputs (shape {net.input_shape})")
        smooth = [l["kind"] for l in net.layers() if l["kind"] in ("Tanh", "Sigmoid")]
        if kind == "bigm" and smooth:
            raise InputError(f"add_network: network '{net.name}' has {smooth[0]} layers, which a "
                             f"MIP cannot encode; use relu='complementarity' and solver='ipopt'")
        k = len(self.networks)
        prefix = self._unique(name, f"net{k}") + "_"
        inputs = x.flatten()
        vars_in = inputs._pure_vars()
        if vars_in is None:  # an affine expression: new input variables equal to it
            lo, hi = inputs._interval()
            z = self.add_vars(inputs.size, lb=lo, ub=hi, name=prefix + "in")
            self.add_constraint(z == inputs, name=prefix + "in_def")
            vars_in = z.cols
        with _Translate():
            d = self._core.add_network(net._core, np.ascontiguousarray(vars_in, dtype=np.int64),
                                       kind, form, str(bounds), float(lp_time_limit), prefix)
        outs = np.asarray(d["outputs"], dtype=np.int64)
        y = Variables._of_vars(self, outs)
        self.networks.append(NetworkEmbedding(
            network=net, inputs=inputs, outputs=y, relu=relu, bounds=d["bounds"],  # type: ignore[arg-type]
            binaries=int(d["binaries"]), unstable_relus=int(d["unstable_relus"]),
            stable_relus=int(d["stable_relus"]), output_lo=np.asarray(d["output_lo"]),
            output_hi=np.asarray(d["output_hi"])))
        return y  # type: ignore[return-value]

    # --- solve, write ---------------------------------------------------------------------------
    @property
    def num_vars(self) -> int:
        """Number of variables (the networks' included)."""
        return int(self._core.num_vars)

    @property
    def num_rows(self) -> int:
        """Number of constraint rows (the networks' included)."""
        return int(self._core.num_rows)

    @property
    def num_integers(self) -> int:
        """Number of integer variables (big-M binaries included)."""
        return int(self._core.num_integers)

    def solve(self, solver: Optional[str] = None, time_limit: float = 600.0, threads: int = 1,
              verbose: bool = False, callback: Optional[Callable[[dict], None]] = None,
              check: str = "raise", tol: float = 1e-4,
              progress: Optional[bool] = None) -> Solution:
        """Solve; returns a :class:`Solution` (``sol[x]`` gives numpy values).

        ``solver``: cbc (MIP), clp (LP, integrality relaxed) or ipopt (NLP: a
        local optimum); default cbc, or ipopt when a network uses a
        complementarity form. The GIL is released while solving and Ctrl-C
        stops the solve and raises KeyboardInterrupt. ``callback(dict)`` is
        called from this thread as the solve progresses (CBC: ``bound``;
        Ipopt: ``step``/``steps`` of the continuation and ``objective``).
        ``progress``: a one-line status on stderr as the solve goes (default:
        when stderr is a terminal).
        Every network's outputs in the returned point are compared with
        ``Network.forward`` of its inputs; with ``check="raise"`` a mismatch
        above ``tol`` (relative to 1 + |logit|) raises :class:`SolutionError`
        (the solution is its ``.solution``), "warn" warns, "ignore" skips it.
        """
        InputError, SolutionError, _Translate = _errors()
        if solver is None:
            solver = "ipopt" if any(e.relu != "bigm" for e in self.networks) else "cbc"
        if solver not in _SOLVERS:
            raise InputError(f"solve: unknown solver {solver!r} (cbc, clp, ipopt)")
        if check not in ("raise", "warn", "ignore"):
            raise InputError(f"solve: check must be raise, warn or ignore (got {check!r})")
        if callback is not None and not callable(callback):
            raise InputError("solve: callback must be callable")
        import sys

        if progress is None:
            progress = sys.stderr.isatty()
        cb = _progress_line(solver, callback) if progress else callback
        with _Translate():
            d = self._core.solve(solver, float(time_limit), int(threads), bool(verbose), cb)
        if progress:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
        sol = Solution(status=d["status"], objective=float(d["objective"]), bound=float(d["bound"]),
                       time_s=float(d["time_s"]), iterations=int(d["iterations"]),
                       message=d["message"], x=np.asarray(d["x"]), solver=solver,
                       complementarity_violation=float(d["complementarity_violation"]),
                       max_violation=float(d["max_violation"]), _model=self)
        if sol.has_point and check != "ignore":
            sol.checks = [self._check(k, e, sol, tol) for k, e in enumerate(self.networks)]
            bad = [c for c in sol.checks if not c.ok]
            if bad:
                msg = (f"network {bad[0].index} ('{self.networks[bad[0].index].network.name}'): its "
                       f"outputs in the solution differ from the forward pass by {bad[0].max_error:.3g} "
                       f"(relative, tol {tol:g}); the solver's point is not a network evaluation")
                if check == "raise":
                    err = SolutionError(msg)
                    err.solution = sol  # type: ignore[attr-defined]
                    raise err
                warnings.warn(msg, RuntimeWarning, stacklevel=2)
        return sol

    @staticmethod
    def _check(k: int, e: NetworkEmbedding, sol: Solution, tol: float) -> NetworkCheck:
        xin = sol.value(e.inputs)
        fwd = e.network.forward(xin)
        got = sol.value(e.outputs)
        err = float(np.max(np.abs(fwd - got) / (1.0 + np.abs(fwd)))) if fwd.size else 0.0
        return NetworkCheck(index=k, forward=fwd, solution=got, max_error=err, ok=err <= tol)

    def write(self, path: str) -> None:
        """Write the model as MPS (``.mps``) or LP (``.lp``) for another solver.

        Linear models only (relu="bigm"); a maximisation is written as
        minimising -objective.
        """
        import os

        _, _, _Translate = _errors()
        with _Translate():
            self._core.write(os.fspath(path))

    @classmethod
    def read(cls, path: str) -> "Model":
        """A model read from an MPS or LP file; its columns are ``model.vars`` (1-D)."""
        import os

        _, _, _Translate = _errors()
        m = cls(name=os.fspath(path))
        with _Translate():
            m._core = _nnopt.ModelCore.read(os.fspath(path))
        m._bounds(np.zeros(0, dtype=np.int64))
        m.vars = Variables._of_vars(m, np.arange(m.num_vars, dtype=np.int64))  # type: ignore[assignment]
        return m

    def __repr__(self) -> str:
        return (f"nnopt.Model({self.name!r}: {self.num_vars} variables ({self.num_integers} integer), "
                f"{self.num_rows} rows, {len(self.networks)} networks)")


def _progress_line(solver: str, callback: Optional[Callable[[dict], None]]) -> Callable[[dict], None]:
    """A callback printing the solve's status on one terminal line, then calling `callback`."""
    import sys
    import time

    t0 = time.monotonic()

    def show(d: dict) -> None:
        parts = [f"nnopt {solver} {time.monotonic() - t0:.1f} s"]
        if d.get("steps"):
            parts.append(f"step {d['step']}/{d['steps']}")
        if np.isfinite(d.get("objective", np.nan)):
            parts.append(f"objective {d['objective']:.6g}")
        if np.isfinite(d.get("bound", -np.inf)):
            parts.append(f"bound {d['bound']:.6g}")
        sys.stderr.write("\r\033[K" + ", ".join(parts))
        sys.stderr.flush()
        if callback is not None:
            callback(d)

    return show
