"""Helpers shared by the conversions to the llvm dialect: index width, intrinsic names and
external function declarations."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import ClassVar, cast

from xdsl.dialects import builtin, llvm
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    Float16Type,
    Float32Type,
    Float64Type,
    IndexType,
    IntegerType,
    ModuleOp,
    VectorType,
)
from xdsl.ir import Attribute, Operation, ParametrizedAttribute
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.utils.exceptions import DiagnosticException

_FLOAT_SUFFIXES: dict[type[Attribute], str] = {
    Float16Type: "f16",
    Float32Type: "f32",
    Float64Type: "f64",
}


def scalar_suffix(type_: Attribute) -> str:
    """The suffix LLVM mangles into overloaded intrinsic names: i32, f32, v4f32."""
    if isinstance(type_, VectorType):
        element = scalar_suffix(type_.get_element_type())
        return f"v{type_.get_shape()[0]}{element}"
    if isinstance(type_, IntegerType):
        return f"i{type_.width.data}"
    if isinstance(type_, IndexType):
        return "i64"
    if type(type_) in _FLOAT_SUFFIXES:
        return _FLOAT_SUFFIXES[type(type_)]
    raise DiagnosticException(f"no LLVM intrinsic suffix for type {type_}")


def intrinsic_name(base: str, *types: Attribute) -> str:
    """`intrinsic_name("llvm.exp", f32)` is `llvm.exp.f32`."""
    return ".".join([base, *(scalar_suffix(t) for t in types)])


def op_error(op: Operation, reason: str) -> DiagnosticException:
    """An error naming the op and its location (the ONNX node name where the importer set one)."""
    return DiagnosticException(f"{op.name} at {op.location}: {reason}")


def _without_index(attribute: Attribute, integer: IntegerType) -> Attribute:
    """`attribute` with every nested `index` replaced by `integer`."""
    if isinstance(attribute, IndexType):
        return integer
    if isinstance(attribute, ArrayAttr):
        elements = cast(ArrayAttr[Attribute], attribute).data
        return ArrayAttr([_without_index(element, integer) for element in elements])
    if isinstance(attribute, DictionaryAttr):
        items = attribute.data.items()
        return DictionaryAttr({key: _without_index(value, integer) for key, value in items})
    if not isinstance(attribute, ParametrizedAttribute):
        return attribute
    parameters = [_without_index(parameter, integer) for parameter in attribute.parameters]
    if parameters == list(attribute.parameters):
        return attribute
    return type(attribute).new(parameters)


def convert_index_types(module: ModuleOp, bitwidth: int) -> None:
    """Rewrites `index` to `i{bitwidth}` in place everywhere: results, block arguments,
    properties and attributes (function types, constant values)."""
    integer = IntegerType(bitwidth)
    memo = TYPE_MEMOS.setdefault(("index", bitwidth), TypeMemo())
    rewrite_types(module, lambda attribute: _without_index(attribute, integer), memo)


@dataclass
class TypeMemo:
    """What a pure rewrite of attributes gave for each attribute it saw, kept across modules:
    a compile rewrites each of its kernels' modules apart, and they share most types. Looked
    up by identity first (values of one op chain share their type object; hashing a nested
    type walks all its parameters), then by value."""

    by_identity: dict[int, tuple[Attribute, Attribute]] = field(
        default_factory=dict[int, tuple[Attribute, Attribute]]
    )
    by_value: dict[Attribute, Attribute] = field(default_factory=dict[Attribute, Attribute])

    LIMIT: ClassVar[int] = 1 << 14
    """Entries kept at most (a long-lived process compiles many models with other types)."""

    def rewritten(
        self, attribute: Attribute, rewrite: Callable[[Attribute], Attribute]
    ) -> Attribute:
        known = self.by_identity.get(id(attribute))
        if known is not None and known[0] is attribute:
            return known[1]
        try:
            result = self.by_value.get(attribute)
        except TypeError:  # an attribute holding a dict or list: not hashable
            return rewrite(attribute)
        if result is None:
            if len(self.by_value) >= self.LIMIT:
                self.by_value.clear()
            result = self.by_value[attribute] = rewrite(attribute)
        if len(self.by_identity) >= self.LIMIT:
            self.by_identity.clear()
        # the entry holds the attribute, so its id is not reused while the entry lives
        self.by_identity[id(attribute)] = (attribute, result)
        return result


TYPE_MEMOS: dict[Hashable, TypeMemo] = {}
"""One memo per pure attribute rewrite, by a key naming it (`("index", 64)`)."""


def rewrite_types(
    module: ModuleOp, rewrite: Callable[[Attribute], Attribute], memo: TypeMemo | None = None
) -> None:
    """Replaces every type and attribute `t` of the module's results, block arguments,
    properties and attributes by `rewrite(t)`, in place. Each distinct attribute is rewritten
    once (per `memo`, which `rewrite` must be pure to share; else per call): a module has few
    distinct types and many values of each, and rebuilding the nested parameters of every
    one of them was most of this walk's time."""
    known = memo if memo is not None else TypeMemo()

    def once(attribute: Attribute) -> Attribute:
        return known.rewritten(attribute, rewrite)

    for op in list(module.walk()):
        for values in (op.results, *(block.args for r in op.regions for block in r.blocks)):
            for value in list(values):
                converted = once(value.type)
                if converted is not value.type and converted != value.type:
                    Rewriter.replace_value_with_new_type(value, converted)
        for table in (op.properties, op.attributes):
            for name, attribute in table.items():
                table[name] = once(attribute)


def declare_external_function(
    module: ModuleOp, name: str, inputs: list[Attribute], output: Attribute
) -> None:
    """Adds `llvm.func @name(inputs) -> output` to the module unless a symbol of that name
    exists (libm and libc functions that the generated code calls)."""
    for op in module.ops:
        if getattr(op, "sym_name", None) == builtin.StringAttr(name):
            return
    declaration = llvm.FuncOp(
        name, llvm.LLVMFunctionType(inputs, output), linkage=llvm.LinkageAttr("external")
    )
    Rewriter.insert_op(declaration, InsertPoint.at_start(module.body.block))
