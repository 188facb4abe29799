"""Printing IR the way Terrace's command lines do."""

from __future__ import annotations

from io import StringIO

from xdsl.dialects.builtin import ModuleOp
from xdsl.printer import Printer


def module_text(module: ModuleOp, debuginfo: bool = False) -> str:
    stream = StringIO()
    Printer(stream=stream, print_debuginfo=debuginfo).print_op(module)
    stream.write("\n")
    return stream.getvalue()
