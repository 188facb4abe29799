"""The xDSL context with every dialect Terrace knows: xDSL's own and Terrace's."""

from __future__ import annotations

from xdsl.context import Context
from xdsl.dialects import get_all_dialects
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Dialect
from xdsl.parser import Parser

from .nn import Nn


def terrace_context() -> Context:
    ctx = Context()
    for name, factory in get_all_dialects().items():
        ctx.register_dialect(name, factory)
    ctx.register_dialect("nn", lambda: Nn)
    ctx.register_dialect("npu", _npu)
    return ctx


def _npu() -> Dialect:
    from .npu import Npu  # the accelerator's dialect loads only when a module uses it

    return Npu


def parse_module(text: str, ctx: Context | None = None) -> ModuleOp:
    """Parses MLIR text (with Terrace's dialects) into a verified module."""
    module = Parser(ctx or terrace_context(), text).parse_module()
    module.verify()
    return module
