"""The modelling API: embed trained networks in your own optimisation model.

    >>> m = nnopt.Model()
    >>> x = m.add_vars(784, lb=0.0, ub=1.0, name="x")
    >>> y = m.add_network(net, x, relu="bigm")           # the logits, a variable array
    >>> m.add_constraint(y[2] >= y[7] + 0.1)
    >>> m.minimize(nnopt.l1(x - x0))
    >>> sol = m.solve(solver="cbc", time_limit=60)
    >>> sol[x], sol[y], sol.objective

Expressions are arrays of affine functions of the model's variables, held as
sparse rows (CSR: one row of (variable, coefficient) terms per entry plus a
constant). They index and slice like numpy arrays, add, subtract, multiply and
divide by numbers or numpy arrays (broadcasting), take ``@`` with numpy
matrices, ``sum``, ``reshape`` and ``.T``; ``<=``, ``>=`` and ``==`` make
constraints. Rows go to the C++ model in one call per constraint.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _nnopt

_RELU_FORMS = ("product", "inequality", "scholtes", "fb", "cm")
_SOLVERS = ("cbc", "clp", "ipopt")


def _errors() -> Any:
    from . import Error, InputError, SolutionError, _Translate  # noqa: F401  (import cycle)

    return InputError, SolutionError, _Translate


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


class LinExpr:
    """An array of affine expressions sum_j a_ij x_j + c_i over a model's variables.

    Made by :meth:`Model.add_vars` and arithmetic on its result; the shape
    and indexing follow numpy. Comparing with ``<=``, ``>=`` or ``==`` gives
    a :class:`Constraint` for :meth:`Model.add_constraint`.
    """

    __array_ufunc__ = None  # numpy defers to our reflected operators (A @ x, 2 * x, c <= x)
    __slots__ = ("model", "shape", "indptr", "cols", "vals", "const")

    def __init__(self, model: "Model", shape: Tuple[int, ...], indptr: np.ndarray,
                 cols: np.ndarray, vals: np.ndarray, const: np.ndarray) -> None:
        """Low level: CSR rows (indptr, cols, vals) and the constant of each entry."""
        self.model = model
        self.shape = tuple(shape)
        self.indptr = indptr
        self.cols = cols
        self.vals = vals
        self.const = const

    # --- construction helpers -------------------------------------------------
    @classmethod
    def _of_vars(cls, model: "Model", idx: np.ndarray) -> "LinExpr":
        n = idx.size
        return cls(model, idx.shape, np.arange(n + 1, dtype=np.int64), idx.reshape(-1).astype(np.int64),
                   np.ones(n), np.zeros(n))

    def _constant(self, value: Any) -> "LinExpr":
        a = np.asarray(value, dtype=np.float64)
        n = a.size
        return LinExpr(self.model, a.shape, np.zeros(n + 1, dtype=np.int64),
                       np.zeros(0, dtype=np.int64), np.zeros(0), a.reshape(-1).copy())

    def _coerce(self, other: Any) -> "LinExpr":
        if isinstance(other, LinExpr):
            if other.model is not self.model:
                raise _errors()[0]("expressions of two different models cannot be combined")
            return other
        try:
            return self._constant(other)
        except (TypeError, ValueError):
            raise TypeError(f"cannot combine an nnopt expression with {type(other).__name__}") from None

    # --- array protocol --------------------------------------------------------
    @property
    def size(self) -> int:
        """Number of entries."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.shape)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a scalar expression")
        return self.shape[0]

    def __iter__(self) -> Iterator["LinExpr"]:
        for i in range(len(self)):
            yield self[i]

    def _gather(self, sel: np.ndarray, shape: Tuple[int, ...]) -> "LinExpr":
        """The entries sel (flat indices, repeats allowed) as an array of `shape`."""
        sel = sel.reshape(-1)
        counts = self.indptr[sel + 1] - self.indptr[sel]
        indptr = np.zeros(sel.size + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        total = int(indptr[-1])
        pos = np.repeat(self.indptr[sel] - indptr[:-1], counts) + np.arange(total, dtype=np.int64)
        return type(self)._wrap(self.model, shape, indptr, self.cols[pos], self.vals[pos],
                                self.const[sel])

    @classmethod
    def _wrap(cls, model: "Model", shape: Tuple[int, ...], indptr: np.ndarray, cols: np.ndarray,
              vals: np.ndarray, const: np.ndarray) -> "LinExpr":
        return LinExpr(model, shape, indptr, cols, vals, const)

    def _positions(self) -> np.ndarray:
        return np.arange(self.size, dtype=np.int64).reshape(self.shape)

    def __getitem__(self, key: Any) -> "LinExpr":
        if isinstance(key, LinExpr):
            raise TypeError("an expression cannot be used as an index")
        idx = self._positions()[key]
        return self._gather(np.asarray(idx), np.shape(idx))

    def reshape(self, *shape: Any) -> "LinExpr":
        """Same entries in a new shape (C order), as numpy's reshape."""
        idx = self._positions().reshape(*shape)
        return type(self)._wrap(self.model, idx.shape, self.indptr, self.cols, self.vals, self.const)

    def flatten(self) -> "LinExpr":
        """A 1-D copy (C order)."""
        return self.reshape(-1)

    ravel = flatten

    def transpose(self, *axes: Any) -> "LinExpr":
        """Axes permuted, as numpy's transpose."""
        idx = self._positions().transpose(*axes)
        return self._gather(idx, idx.shape)

    @property
    def T(self) -> "LinExpr":
        """The transpose."""
        return self.transpose()

    def _broadcast(self, shape: Tuple[int, ...]) -> "LinExpr":
        if shape == self.shape:
            return self
        idx = np.broadcast_to(self._positions(), shape)
        return self._gather(np.ascontiguousarray(idx), shape)

    # --- arithmetic -------------------------------------------------------------
    def _combine(self, other: "LinExpr", sign: float) -> "LinExpr":
        try:
            shape = np.broadcast_shapes(self.shape, other.shape)
        except ValueError:
            raise _errors()[0](f"shapes {self.shape} and {other.shape} do not broadcast") from None
        a, b = self._broadcast(shape), other._broadcast(shape)
        ca, cb = np.diff(a.indptr), np.diff(b.indptr)
        indptr = np.zeros(ca.size + 1, dtype=np.int64)
        np.cumsum(ca + cb, out=indptr[1:])
        total = int(indptr[-1])
        cols = np.empty(total, dtype=np.int64)
        vals = np.empty(total)
        pa = np.repeat(indptr[:-1] - a.indptr[:-1], ca) + np.arange(a.cols.size, dtype=np.int64)
        pb = np.repeat(indptr[:-1] + ca - b.indptr[:-1], cb) + np.arange(b.cols.size, dtype=np.int64)
        cols[pa], vals[pa] = a.cols, a.vals
        cols[pb], vals[pb] = b.cols, sign * b.vals
        return LinExpr(self.model, shape, indptr, cols, vals, a.const + sign * b.const)

    def _scale(self, factor: Any) -> "LinExpr":
        if isinstance(factor, LinExpr):
            raise _errors()[0]("the product of two expressions is not linear (only numbers and "
                               "numpy arrays may multiply an expression)")
        f = np.asarray(factor, dtype=np.float64)
        try:
            shape = np.broadcast_shapes(self.shape, f.shape)
        except ValueError:
            raise _errors()[0](f"shapes {self.shape} and {f.shape} do not broadcast") from None
        a = self._broadcast(shape)
        fe = np.broadcast_to(f, shape).reshape(-1)
        return LinExpr(self.model, shape, a.indptr, a.cols, a.vals * np.repeat(fe, np.diff(a.indptr)),
                       a.const * fe)

    def __add__(self, other: Any) -> "LinExpr":
        return self._combine(self._coerce(other), 1.0)

    def __radd__(self, other: Any) -> "LinExpr":
        if isinstance(other, (int, float)) and other == 0:  # builtin sum() starts at 0
            return self
        return self._coerce(other)._combine(self, 1.0)

    def __sub__(self, other: Any) -> "LinExpr":
        return self._combine(self._coerce(other), -1.0)

    def __rsub__(self, other: Any) -> "LinExpr":
        return self._coerce(other)._combine(self, -1.0)

    def __neg__(self) -> "LinExpr":
        return self._scale(-1.0)

    def __pos__(self) -> "LinExpr":
        return self

    def __mul__(self, other: Any) -> "LinExpr":
        return self._scale(other)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> "LinExpr":
        if isinstance(other, LinExpr):
            raise _errors()[0]("division by an expression is not linear")
        return self._scale(1.0 / np.asarray(other, dtype=np.float64))

    def _matvec(self, a: np.ndarray) -> "LinExpr":
        """a @ self for a 1-D self of length n and a of shape (m, n) or (n,)."""
        n = self.size
        if a.shape[-1] != n:
            raise _errors()[0](f"matmul: shapes {a.shape} and {self.shape} are not aligned")
        uniq, inv = np.unique(self.cols, return_inverse=True)
        dense = np.zeros((n, uniq.size))
        np.add.at(dense, (np.repeat(np.arange(n), np.diff(self.indptr)), inv.reshape(-1)), self.vals)
        a2 = a.reshape(-1, n)
        prod = a2 @ dense
        rows, cidx = np.nonzero(prod)
        indptr = np.zeros(a2.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=a2.shape[0]), out=indptr[1:])
        return LinExpr(self.model, a.shape[:-1], indptr, uniq[cidx], prod[rows, cidx],
                       a2 @ self.const)

    def __rmatmul__(self, other: Any) -> "LinExpr":
        a = np.asarray(other, dtype=np.float64)
        if self.ndim == 1 and a.ndim in (1, 2):
            return self._matvec(a)
        if self.ndim == 2 and a.ndim in (1, 2):  # A @ X = (X^T @ A^T)^T
            return (self.T @ a.T).T
        raise _errors()[0](f"matmul: unsupported shapes {a.shape} @ {self.shape}")

    def __matmul__(self, other: Any) -> "LinExpr":
        if isinstance(other, LinExpr):
            raise _errors()[0]("the product of two expressions is not linear")
        a = np.asarray(other, dtype=np.float64)
        if self.ndim == 1 and a.ndim in (1, 2):
            return self._matvec(a.T)
        if self.ndim == 2 and a.ndim in (1, 2):
            rows = [self[i]._matvec(a.T) for i in range(self.shape[0])]
            return stack(rows)
        raise _errors()[0](f"matmul: unsupported shapes {self.shape} @ {a.shape}")

    def sum(self, axis: Optional[int] = None) -> "LinExpr":
        """Sum of all entries (a scalar expression) or along one axis."""
        if axis is None:
            return LinExpr(self.model, (), np.array([0, self.cols.size], dtype=np.int64), self.cols,
                           self.vals, np.array([self.const.sum()]))
        axis = int(axis) % max(self.ndim, 1)
        moved = self.transpose([a for a in range(self.ndim) if a != axis] + [axis])
        width = self.shape[axis]
        out_shape = moved.shape[:-1]
        groups = int(np.prod(out_shape, dtype=np.int64))
        return LinExpr(self.model, out_shape, moved.indptr[::width] if width else
                       np.zeros(groups + 1, dtype=np.int64), moved.cols, moved.vals,
                       moved.const.reshape(groups, width).sum(axis=1))

    # --- constraints ---------------------------------------------------------------
    def __le__(self, other: Any) -> "Constraint":
        return Constraint(self - other, -np.inf, 0.0)

    def __ge__(self, other: Any) -> "Constraint":
        return Constraint(self - other, 0.0, np.inf)

    def __eq__(self, other: Any) -> "Constraint":  # type: ignore[override]
        return Constraint(self - other, 0.0, 0.0)

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        raise TypeError("an nnopt expression has no truth value")

    # --- evaluation ------------------------------------------------------------------
    def _entry_ids(self) -> np.ndarray:
        return np.repeat(np.arange(self.size, dtype=np.int64), np.diff(self.indptr))

    def _value(self, x: np.ndarray) -> np.ndarray:
        terms = self.vals * x[self.cols]
        v = np.bincount(self._entry_ids(), weights=terms, minlength=self.size) + self.const
        return v.reshape(self.shape)

    def _interval(self) -> Tuple[np.ndarray, np.ndarray]:
        lb, ub = self.model._bounds(self.cols)
        with np.errstate(invalid="ignore"):
            lo_t = np.where(self.vals >= 0, self.vals * lb, self.vals * ub)
            hi_t = np.where(self.vals >= 0, self.vals * ub, self.vals * lb)
        ids = self._entry_ids()
        lo = np.bincount(ids, weights=lo_t, minlength=self.size) + self.const
        hi = np.bincount(ids, weights=hi_t, minlength=self.size) + self.const
        return lo, hi

    def _compact(self) -> "LinExpr":
        """Duplicate (entry, variable) terms merged, zero coefficients dropped."""
        ids = self._entry_ids()
        key = ids * (self.model._core.num_vars + 1) + self.cols
        uniq, inv = np.unique(key, return_inverse=True)
        vals = np.zeros(uniq.size)
        np.add.at(vals, inv.reshape(-1), self.vals)
        keep = vals != 0.0
        uniq, vals = uniq[keep], vals[keep]
        entry = uniq // (self.model._core.num_vars + 1)
        indptr = np.zeros(self.size + 1, dtype=np.int64)
        np.cumsum(np.bincount(entry, minlength=self.size), out=indptr[1:])
        return LinExpr(self.model, self.shape, indptr, uniq % (self.model._core.num_vars + 1), vals,
                       self.const)

    def _pure_vars(self) -> Optional[np.ndarray]:
        """The variable of each entry when every entry is exactly one distinct variable."""
        if (self.cols.size == self.size and np.all(np.diff(self.indptr) == 1)
                and np.all(self.vals == 1.0) and not np.any(self.const)
                and np.unique(self.cols).size == self.size):
            return self.cols
        return None

    def __repr__(self) -> str:
        return f"nnopt.LinExpr(shape={self.shape}, terms={self.cols.size})"


class Variables(LinExpr):
    """A numpy-shaped array of model variables (indexing gives sub-arrays)."""

    __slots__ = ()

    @classmethod
    def _wrap(cls, model: "Model", shape: Tuple[int, ...], indptr: np.ndarray, cols: np.ndarray,
              vals: np.ndarray, const: np.ndarray) -> "LinExpr":
        return Variables(model, shape, indptr, cols, vals, const)

    @property
    def index(self) -> np.ndarray:
        """Column index of every variable in the model (this array's shape)."""
        return self.cols.reshape(self.shape)

    @property
    def lb(self) -> np.ndarray:
        """Lower bounds."""
        return self.model._bounds(self.cols)[0].reshape(self.shape)

    @property
    def ub(self) -> np.ndarray:
        """Upper bounds."""
        return self.model._bounds(self.cols)[1].reshape(self.shape)

    def __repr__(self) -> str:
        return f"nnopt.Variables(shape={self.shape}, first={int(self.cols[0]) if self.cols.size else None})"


def stack(exprs: Sequence[LinExpr]) -> LinExpr:
    """Expressions of one shape stacked along a new first axis (as numpy.stack)."""
    exprs = list(exprs)
    if not exprs:
        raise _errors()[0]("stack: no expressions")
    first = exprs[0]
    out = first.reshape((1,) + first.shape)
    for e in exprs[1:]:
        if e.shape != first.shape:
            raise _errors()[0](f"stack: shapes {first.shape} and {e.shape} differ")
        out = concatenate([out, e.reshape((1,) + e.shape)])
    return out


def concatenate(exprs: Sequence[LinExpr]) -> LinExpr:
    """Expressions joined along their first axis (as numpy.concatenate)."""
    exprs = list(exprs)
    model = exprs[0].model
    indptrs, offset = [np.zeros(1, dtype=np.int64)], 0
    for e in exprs:
        if e.model is not model:
            raise _errors()[0]("expressions of two different models cannot be combined")
        indptrs.append(e.indptr[1:] + offset)
        offset += e.cols.size
    tail = exprs[0].shape[1:]
    if any(e.shape[1:] != tail for e in exprs):
        raise _errors()[0]("concatenate: shapes differ beyond the first axis")
    shape = (sum(e.shape[0] for e in exprs),) + tail
    return LinExpr(model, shape, np.concatenate(indptrs), np.concatenate([e.cols for e in exprs]),
                   np.concatenate([e.vals for e in exprs]), np.concatenate([e.const for e in exprs]))


@dataclass(eq=False)  # fields hold expressions / arrays: compare by identity
class Constraint:
    """lo <= expr <= hi, entrywise (made by ``<=``, ``>=``, ``==`` on expressions)."""

    expr: LinExpr
    lo: float
    hi: float

    def __bool__(self) -> bool:
        raise TypeError("a constraint has no truth value (a chained comparison such as "
                        "0 <= x <= 1 is two constraints: add them one by one)")


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


def absolute(expr: LinExpr, name: str = "abs") -> Variables:
    """Variables t >= |expr| entrywise (t >= expr, t >= -expr): |expr| when t is
    minimised (or has a positive cost); bounded above by expr's interval."""
    if not isinstance(expr, LinExpr):
        raise _errors()[0]("absolute: expected an nnopt expression")
    m = expr.model
    lo, hi = expr._interval()
    t = m.add_vars(expr.shape, lb=0.0, ub=np.maximum(np.abs(lo), np.abs(hi)).reshape(expr.shape),
                   name=name)
    m.add_constraint(t >= expr, name=name + "_pos")
    m.add_constraint(t >= -expr, name=name + "_neg")
    return t


def l1(expr: LinExpr) -> LinExpr:
    """The L1 norm sum |expr_i| as a scalar expression (through :func:`absolute`;
    exact when minimised)."""
    return absolute(expr, name="l1").sum()


def linf(expr: LinExpr) -> Variables:
    """The L-inf norm max |expr_i| as one variable s >= |expr_i| (exact when minimised)."""
    if not isinstance(expr, LinExpr):
        raise _errors()[0]("linf: expected an nnopt expression")
    m = expr.model
    lo, hi = expr._interval()
    s = m.add_vars((), lb=0.0, ub=float(np.max(np.maximum(np.abs(lo), np.abs(hi)), initial=0.0)),
                   name="linf")
    m.add_constraint(s >= expr, name="linf_pos")
    m.add_constraint(s >= -expr, name="linf_neg")
    return s
