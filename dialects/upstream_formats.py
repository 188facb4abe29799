"""Custom assembly formats xDSL cannot parse yet, for reading upstream MLIR's output.

xDSL 0.74 prints `scf.parallel` and `memref.copy` in the generic form (which upstream reads)
but cannot parse the custom form upstream mlir-opt prints for them, and it cannot parse the
parenthesized result types of a linalg.generic with several results (which it prints itself):

    scf.parallel (%i, %j) = (%lb0, %lb1) to (%ub0, %ub1) step (%s0, %s1) { ... }
    scf.parallel (%i) = (%lb) to (%ub) step (%s) init (%zero) -> f32 { ... }
    memref.copy %a, %b : memref<4xf32> to memref<4xf32, strided<[2]>>
    %r:2 = linalg.generic {...} ins(...) outs(...) { ... } -> (tensor<2xf32>, tensor<2x3xf32>)

`install()` gives xDSL's op classes these parsers (scf.parallel's implicit `scf.reduce` is
added back where upstream elided it), so that `terrace-opt` reads back what mlir-opt prints.
They are the only ops of Terrace's printed stages that lacked one (tests/tools/test_mlir_interop.py
reads every stage back). Written as xDSL writes its ops' `parse`, so they could move upstream.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

from xdsl.dialects import memref, scf
from xdsl.dialects.builtin import AffineMapAttr, ArrayAttr, IndexType, StringAttr
from xdsl.dialects.linalg.attrs import IteratorType, IteratorTypeAttr
from xdsl.dialects.linalg.ops import GenericOp
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import IRDLOperation
from xdsl.parser import Parser, UnresolvedOperand


def parse_parallel(parser: Parser) -> scf.ParallelOp:
    paren = Parser.Delimiter.PAREN
    ivs = parser.parse_comma_separated_list(paren, lambda: parser.parse_argument(expect_type=False))
    parser.parse_punctuation("=")
    lower = _index_operands(parser)
    parser.parse_keyword("to")
    upper = _index_operands(parser)
    parser.parse_keyword("step")
    steps = _index_operands(parser)
    inits: Sequence[SSAValue] = ()
    if parser.parse_optional_keyword("init"):
        start = parser.pos
        unresolved = parser.parse_comma_separated_list(paren, parser.parse_unresolved_operand)
        parser.parse_punctuation("->")
        types = _result_types(parser)
        inits = parser.resolve_operands(unresolved, types, start)
    body = parser.parse_region([iv.resolve(IndexType()) for iv in ivs])
    attributes = parser.parse_optional_attr_dict()
    if body.block.last_op is None or not isinstance(body.block.last_op, scf.ReduceOp):
        body.block.add_op(scf.ReduceOp())  # upstream elides an empty scf.reduce
    op = scf.ParallelOp(lower, upper, steps, body, inits)
    op.attributes |= attributes
    return op


def _index_operands(parser: Parser) -> list[SSAValue]:
    operands: list[UnresolvedOperand] = parser.parse_comma_separated_list(
        Parser.Delimiter.PAREN, parser.parse_unresolved_operand
    )
    return [parser.resolve_operand(operand, IndexType()) for operand in operands]


def _result_types(parser: Parser) -> list[Attribute]:
    """`T`, `T, U` (as xDSL prints several results) or `(T, U)` (as upstream does)."""
    if parser.parse_optional_punctuation("(") is None:
        types = [parser.parse_type()]
        while parser.parse_optional_punctuation(",") is not None:
            types.append(parser.parse_type())
        return types
    types: list[Attribute] = [parser.parse_type()]
    while parser.parse_optional_punctuation(",") is not None:
        types.append(parser.parse_type())
    parser.parse_punctuation(")")
    return types


def parse_copy(parser: Parser) -> memref.CopyOp:
    source = parser.parse_unresolved_operand()
    parser.parse_punctuation(",")
    destination = parser.parse_unresolved_operand()
    attributes = parser.parse_optional_attr_dict()
    parser.parse_punctuation(":")
    source_type = parser.parse_type()
    parser.parse_keyword("to")
    destination_type = parser.parse_type()
    op = memref.CopyOp(
        parser.resolve_operand(source, source_type),
        parser.resolve_operand(destination, destination_type),
    )
    op.attributes |= attributes
    return op


def parse_generic(parser: Parser) -> GenericOp:
    start = parser.pos
    attributes = dict(parser.parse_optional_attr_dict())
    maps = attributes.pop("indexing_maps", None)
    iterators = attributes.pop("iterator_types", None)
    if not isinstance(maps, ArrayAttr) or not isinstance(iterators, ArrayAttr):
        parser.raise_error("linalg.generic needs indexing_maps and iterator_types", start)
    doc = attributes.pop("doc", None)
    library_call = attributes.pop("library_call", None)
    inputs = _operand_group(parser, "ins")
    outputs = _operand_group(parser, "outs")
    if parser.parse_optional_keyword("attrs") is not None:
        parser.parse_punctuation("=")
        attributes |= parser.parse_optional_attr_dict()
    body = parser.parse_region()
    result_types = _result_types(parser) if parser.parse_optional_punctuation("->") else []
    op = GenericOp(
        inputs,
        outputs,
        body,
        cast(ArrayAttr[AffineMapAttr], maps),
        [_iterator_type(parser, attribute) for attribute in iterators.data],
        result_types,
        cast(StringAttr | None, doc),
        cast(StringAttr | None, library_call),
    )
    op.attributes |= attributes
    return op


def _operand_group(parser: Parser, keyword: str) -> Sequence[SSAValue]:
    """`keyword(%a, %b : T, U)`, or nothing."""
    start = parser.pos
    if not parser.parse_optional_characters(keyword):
        return []
    parser.parse_punctuation("(")
    operands = parser.parse_comma_separated_list(
        Parser.Delimiter.NONE, parser.parse_unresolved_operand
    )
    parser.parse_punctuation(":")
    types = parser.parse_comma_separated_list(Parser.Delimiter.NONE, parser.parse_type)
    parser.parse_punctuation(")")
    return parser.resolve_operands(operands, types, start)


def _iterator_type(parser: Parser, attribute: Attribute) -> IteratorTypeAttr:
    if isinstance(attribute, IteratorTypeAttr):
        return attribute
    if isinstance(attribute, StringAttr):
        return IteratorTypeAttr(IteratorType(attribute.data))
    parser.raise_error(f"unknown iterator type {attribute}")


_PARSERS: tuple[tuple[type[IRDLOperation], Callable[[Parser], IRDLOperation]], ...] = (
    (scf.ParallelOp, parse_parallel),
    (memref.CopyOp, parse_copy),
    (GenericOp, parse_generic),
)


def install() -> None:
    """Gives xDSL's op classes the parsers above (idempotent)."""
    for op_class, parse in _PARSERS:
        # an op's custom parser is its `parse` classmethod; xDSL has no other hook for it
        setattr(op_class, "parse", classmethod(_ignoring_class(parse)))  # noqa: B010


def _ignoring_class(
    parse: Callable[[Parser], IRDLOperation],
) -> Callable[[type[IRDLOperation], Parser], IRDLOperation]:
    return lambda _cls, parser: parse(parser)
