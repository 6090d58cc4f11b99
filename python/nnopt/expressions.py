"""Expressions of the modelling API (nnopt.Model): arrays of affine functions of
a model's variables, held as sparse rows (CSR: one row of (variable,
coefficient) terms per entry plus a constant). They index and slice like numpy
arrays, add, subtract, multiply and divide by numbers or numpy arrays
(broadcasting), take ``@`` with numpy matrices, ``sum``, ``reshape`` and
``.T``; ``<=``, ``>=`` and ``==`` make constraints. ``absolute``, ``l1`` and
``linf`` add the variables and rows of the usual norm reformulations.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Optional, Sequence, Tuple

import numpy as np

if TYPE_CHECKING:
    from .modeling import Model


def _errors() -> Any:
    from . import Error, InputError, SolutionError, _Translate  # noqa: F401  (import cycle)

    return InputError, SolutionError, _Translate

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
