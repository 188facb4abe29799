"""Pass plugins for terrace-opt: a Python file or an importable module whose ModulePass
subclasses become usable with `-p`, without editing Terrace (mlir-opt's `--load-pass-plugin`)."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import traceback
from pathlib import Path
from types import ModuleType

from xdsl.passes import ModulePass

from ..errors import TerraceError


class PluginError(TerraceError):
    """A pass plugin cannot be found, imported, or defines no pass."""


def load_pass_plugin(source: str) -> list[type[ModulePass]]:
    """The named ModulePass subclasses defined in `source` (a .py path or a module name)."""
    module = _import_plugin(source)
    passes = [obj for obj in vars(module).values() if _is_plugin_pass(obj, module)]
    if not passes:
        raise PluginError(f"plugin {source} defines no ModulePass subclass with a `name`")
    return passes


def _import_plugin(source: str) -> ModuleType:
    # A path wins over a module of the same spelling: the user pointed at a file.
    if source.endswith(".py") or Path(source).exists():
        return _import_file(Path(source))
    try:
        return importlib.import_module(source)
    except Exception as error:  # the plugin's own code may raise anything while importing
        raise PluginError(f"cannot import plugin {source}: {_describe(error)}") from None


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise PluginError(f"plugin file {path} does not exist")
    module_name = f"terrace_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"cannot load plugin {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    # dataclasses (every ModulePass is one) look their module up in sys.modules
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # the plugin's own code may raise anything while importing
        del sys.modules[module_name]
        raise PluginError(f"cannot load plugin {path}: {_describe(error)}") from None
    return module


def _is_plugin_pass(obj: object, module: ModuleType) -> bool:
    # Only classes defined in the plugin itself: an imported `CanonicalizePass` is not its own.
    if not inspect.isclass(obj) or not issubclass(obj, ModulePass):
        return False
    if obj.__module__ != module.__name__ or inspect.isabstract(obj):
        return False
    return isinstance(getattr(obj, "name", None), str)


def _is_plugin_frame(frame: traceback.FrameSummary) -> bool:
    if frame.filename == __file__ or frame.filename.startswith("<"):
        return False
    return "importlib" not in frame.filename


def _describe(error: Exception) -> str:
    """One line: the exception and where in the plugin it was raised."""
    if isinstance(error, SyntaxError):
        return f"SyntaxError: {error.msg} (line {error.lineno})"
    # The innermost frame of the plugin's own code: importlib's frames say nothing to its author.
    frames = [f for f in traceback.extract_tb(error.__traceback__) if _is_plugin_frame(f)]
    where = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"
