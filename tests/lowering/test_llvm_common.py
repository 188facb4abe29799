"""The type rewrite shared by the llvm conversions (lowering/llvm_common.py): a memo kept
across modules rewrites each distinct type once, and still rewrites every value."""

from __future__ import annotations

import pytest
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import IndexType, IntegerType, ModuleOp, i32, i64
from xdsl.ir import Attribute

from terrace.lowering.llvm_common import TypeMemo, rewrite_types


def _module(type_: Attribute) -> ModuleOp:
    """func @f(%a: T) -> T { %b = arith.addi %a, %a : T; return %b }"""
    function = func.FuncOp("f", ((type_,), (type_,)))
    argument = function.body.block.args[0]
    add = arith.AddiOp(argument, argument)
    function.body.block.add_ops([add, func.ReturnOp(add.result)])
    return ModuleOp([function])


def _types(module: ModuleOp) -> set[Attribute]:
    found: set[Attribute] = set()
    for op in module.walk():
        found.update(result.type for result in op.results)
        for region in op.regions:
            for block in region.blocks:
                found.update(argument.type for argument in block.args)
    return found


def test_a_memo_rewrites_each_type_once_across_modules_and_every_value():
    seen: list[Attribute] = []

    def to_i64(attribute: Attribute) -> Attribute:
        seen.append(attribute)
        return i64 if isinstance(attribute, IndexType) else attribute

    memo = TypeMemo()
    first, second = _module(IndexType()), _module(IndexType())
    rewrite_types(first, to_i64, memo)
    rewritten = len(seen)
    rewrite_types(second, to_i64, memo)
    assert IndexType() in seen
    assert len(seen) == rewritten  # the second module's types were all known
    assert _types(first) == _types(second) == {i64}
    # a type the memo has not seen is rewritten (a miss), and its values change
    third = _module(IntegerType(32))
    rewrite_types(third, lambda a: i64 if a == i32 else to_i64(a), memo)
    assert _types(third) == {i64}


def test_a_full_memo_starts_again(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(TypeMemo, "LIMIT", 4)
    memo = TypeMemo()
    memo.by_value.update({IntegerType(width): i64 for width in range(1, 5)})
    assert memo.rewritten(IndexType(), lambda _: i32) == i32
    assert memo.by_value == {IndexType(): i32}
