"""Every public name has a docstring, and the extension's stub lists what the module has."""
import ast
import inspect

import nnopt
from conftest import ROOT


def public_members(obj):
    for name, member in inspect.getmembers(obj):
        if name.startswith("_"):
            continue
        if inspect.isfunction(member) or isinstance(member, property):
            yield name, member


def test_every_public_name_has_a_docstring():
    missing = []
    for name in nnopt.__all__:
        obj = getattr(nnopt, name)
        if not (obj.__doc__ or "").strip():
            missing.append(name)
        if inspect.isclass(obj):
            for mname, m in public_members(obj):
                doc = m.__doc__ if not isinstance(m, property) else m.fget.__doc__
                if not (doc or "").strip():
                    missing.append(f"{name}.{mname}")
    assert not missing, missing


def test_stub_covers_the_extension():
    stub = ast.parse((ROOT / "python/nnopt/_nnopt.pyi").read_text())
    declared = {n.name for n in stub.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    actual = {n for n in dir(nnopt._nnopt) if not n.startswith("_")}
    assert actual <= declared, sorted(actual - declared)


def test_package_ships_typing_marker():
    pkg = ROOT / "python/nnopt"
    assert (pkg / "py.typed").exists() and (pkg / "_nnopt.pyi").exists()
