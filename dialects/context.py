"""The xDSL context with every dialect Terrace knows: xDSL's own and Terrace's."""

from __future__ import annotations

from xdsl.context import Context
from xdsl.dialects import get_all_dialects
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Dialect
from xdsl.parser import Parser

from .nn import Nn
from .upstream_formats import install as install_upstream_formats


def _ml_program() -> Dialect:
    from .ml_program import MLProgram

    return MLProgram


def terrace_context() -> Context:
    install_upstream_formats()  # ops whose custom form only upstream mlir-opt prints
    ctx = Context()
    # Terrace's ml_program (weights as upstream MLIR spells them) replaces xDSL's
    factories = {**get_all_dialects(), "ml_program": _ml_program}
    for name, factory in factories.items():
        ctx.register_dialect(name, factory)
    ctx.register_dialect("nn", lambda: Nn)
    return ctx


def parse_module(text: str, ctx: Context | None = None) -> ModuleOp:
    """Parses MLIR text (with Terrace's dialects) into a verified module."""
    module = Parser(ctx or terrace_context(), text).parse_module()
    module.verify()
    return module
