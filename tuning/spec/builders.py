"""Finding the user's model builder (`module:function`), beside the spec file first.

`validate` checks the reference without importing it (importing a builder imports Keras and
TensorFlow); `run` imports it for real.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

from tuning.spec.errors import UserError
from tuning.spec.schema import Spec
from tuning.spec.usercode import LeftUserCode, contained

#: Where every error of the user's builder is reported.
BUILDER_KEY = "model.builder"


def _split(spec: Spec) -> tuple[str, str]:
    module, _, func = spec.model.builder.partition(":")
    return module, func


def _local_file(spec: Spec, module: str) -> Path | None:
    candidate = spec.base_dir / (module.replace(".", "/") + ".py")
    return candidate if candidate.is_file() else None


def check_builder(spec: Spec) -> None:
    """Check that the builder's module exists and defines the function, without importing."""
    module, func = _split(spec)
    path = _local_file(spec, module)
    if path is None:
        try:  # finding `a.b` runs the package `a`: the user's code
            with contained("the builder's package"):
                found = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            found = None
        except LeftUserCode as exc:
            raise UserError(BUILDER_KEY, str(exc)) from None
        except Exception as exc:
            raise UserError(BUILDER_KEY, f"importing the package of {module!r} failed: "
                                  f"{type(exc).__name__}: {exc}".splitlines()[0]) from None
        if found is None or not found.origin or not found.origin.endswith(".py"):
            raise UserError(BUILDER_KEY, f"module {module!r} not found beside {spec.path.name} "
                                         "or on the import path")
        path = Path(found.origin)
    try:
        tree = ast.parse(path.read_bytes().decode("utf-8-sig"), filename=str(path))
    except UnicodeDecodeError:
        raise UserError(BUILDER_KEY, f"{path.name} is not a UTF-8 text file") from None
    except SyntaxError as exc:
        raise UserError(BUILDER_KEY, f"{path.name} line {exc.lineno}: {exc.msg}") from None
    names = {
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    } | {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    if func not in names:
        raise UserError(BUILDER_KEY, f"{path.name} defines no function {func!r}")


def builder_from(spec: Spec, pickled: bytes | None) -> Callable:
    """The search's builder: one the Python API handed over (a callable pickled with
    cloudpickle, so that one defined in a notebook reaches the workers), else the spec's.
    Its module runs as the user's code: one that exits or fails is the user's error."""
    try:
        with contained("the builder's module"):
            if pickled is None:
                return load_builder(spec)
            import cloudpickle

            return cloudpickle.loads(pickled)
    except LeftUserCode as exc:
        raise UserError(BUILDER_KEY, str(exc)) from exc


def load_builder(spec: Spec) -> Callable:
    """Import the builder; an import that fails is the user's error, named as such."""
    return import_function(spec, spec.model.builder, BUILDER_KEY)


def import_function(spec: Spec, reference: str, key: str) -> Callable:
    """Import `module:function`, the module found beside the spec file first; a failure
    inside the user's module is reported under `key`, not raised as a traceback."""
    module, _, func = reference.partition(":")
    if _local_file(spec, module) is not None and str(spec.base_dir) not in sys.path:
        sys.path.insert(0, str(spec.base_dir))
    try:
        loaded = importlib.import_module(module)
    except Exception as exc:  # any failure inside the user's module is reported, not raised
        raise UserError(key, f"importing {module!r} failed: "
                             f"{type(exc).__name__}: {exc}".splitlines()[0]) from exc
    function = getattr(loaded, func, None)
    if not callable(function):
        raise UserError(key, f"{module!r} has no function {func!r}")
    return function
