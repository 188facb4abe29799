"""Upstream MLIR's `ml_program` dialect, as far as Terrace's weights need it.

Below nn, upstream MLIR spells a model weight that lives outside the IR as an external global
and a load of it (the form `convert-nn-weight-to-ml-program` prints for upstream tools):

    ml_program.global private @"conv1.weight"(#ml_program.extern : tensor<64x3x7x7xf32>)
        : tensor<64x3x7x7xf32>
    %w = ml_program.global_load_const @"conv1.weight" : tensor<64x3x7x7xf32>

xDSL ships the two ops, but its `ml_program.global` prints a symbol name unquoted (so a weight
named `fire2/squeeze1x1_w_0` prints as text no parser reads) and it has no
`#ml_program.extern` attribute. This module adds the attribute and a `GlobalOp` that quotes
names the way MLIR does; the load op is xDSL's own. `terrace_context` registers this dialect
in place of xDSL's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from xdsl.dialects import ml_program as xdsl_ml_program
from xdsl.dialects.builtin import StringAttr, SymbolNameConstraint, UnitAttr
from xdsl.ir import Attribute, Dialect, ParametrizedAttribute, TypeAttribute
from xdsl.irdl import (
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    opt_prop_def,
    prop_def,
    traits_def,
)
from xdsl.parser import AttrParser, Parser
from xdsl.printer import Printer
from xdsl.traits import SymbolOpInterface
from xdsl.utils.exceptions import VerifyException

GlobalLoadConstantOp = xdsl_ml_program.GlobalLoadConstantOp


@irdl_attr_definition
class ExternAttr(ParametrizedAttribute):
    """`#ml_program.extern : T`: a global's value is held outside the IR (for Terrace: in
    the module's weight store, under the global's name)."""

    name = "ml_program.extern"
    type: TypeAttribute

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        parser.parse_punctuation(":")
        return (parser.parse_type(),)

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(" : ")
        printer.print_attribute(self.type)


@irdl_op_definition
class GlobalOp(IRDLOperation):
    """`ml_program.global`, as xDSL defines it, but with its symbol name printed as MLIR
    prints one (quoted when it is not an identifier)."""

    name = "ml_program.global"

    sym_name = prop_def(SymbolNameConstraint())
    type = prop_def(TypeAttribute)
    is_mutable = opt_prop_def(UnitAttr)
    value = opt_prop_def()
    sym_visibility = prop_def(StringAttr)

    traits = traits_def(SymbolOpInterface())

    def __init__(self, sym_name: str, value_type: Attribute, value: Attribute | None = None):
        properties: dict[str, Attribute | None] = {
            "sym_name": StringAttr(sym_name),
            "type": value_type,
            "value": value,
            "sym_visibility": StringAttr("private"),
        }
        super().__init__(properties=properties)

    def _verify(self) -> None:
        if self.is_mutable is None and self.value is None:
            raise VerifyException("an immutable ml_program.global needs a value")

    def print(self, printer: Printer) -> None:
        printer.print_string(f" {self.sym_visibility.data}")
        if self.is_mutable is not None:
            printer.print_string(" mutable")
        printer.print_string(" ")
        printer.print_symbol_name(self.sym_name.data)
        if self.value is not None:
            printer.print_string("(")
            printer.print_attribute(self.value)
            printer.print_string(")")
        printer.print_string(" : ")
        printer.print_attribute(self.type)
        printer.print_op_attributes(self.attributes)

    @classmethod
    def parse(cls, parser: Parser) -> Self:
        visibility = parser.parse_optional_visibility_keyword() or StringAttr("public")
        mutable = UnitAttr() if parser.parse_optional_keyword("mutable") else None
        sym_name = parser.parse_symbol_name().data
        value = None
        if parser.parse_optional_punctuation("("):
            value = parser.parse_attribute()
            parser.parse_punctuation(")")
        parser.parse_punctuation(":")
        value_type = parser.parse_type()
        op = cls(sym_name, value_type, value)
        op.properties["sym_visibility"] = visibility
        if mutable is not None:
            op.properties["is_mutable"] = mutable
        op.attributes |= parser.parse_optional_attr_dict()
        return op


MLProgram = Dialect("ml_program", [GlobalOp, GlobalLoadConstantOp], [ExternAttr])
