"""linalg-fuse-elementwise: an elementwise `linalg.generic` whose only user is another
elementwise generic is computed inside it, so a chain such as SiLU (`x * sigmoid(x)`), a GELU
or a bias-add-ReLU is one loop nest that reads its inputs once and writes one tensor, instead
of a loop nest and a full intermediate tensor per op.

On tensors (before bufferize). The producer P and the consumer C must both be all-parallel
generics with one result of an identity output map, and C must read P's result through an
identity map, so they iterate the same space: element i of P's result is used only by
element i of C. Then

    C(..., P(a, b)[i], ...) = C'(..., a[mapP_a(i)], b[mapP_b(i)], ...)

where C' is C's body after P's body, P's inputs keep their own maps (broadcasts included), and
an input that C already reads through the same map is read once. P must have no other use
(its result is not computed twice; C reading it through two operands counts as two) and must
not read its output block argument (an elementwise op's init is not part of its value). Ops
are cloned in order, so results are bit for bit the same: the scalars are computed as before,
only without the round trip through memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import AffineMapAttr, ModuleOp, TensorType
from xdsl.dialects.linalg import ops as linalg
from xdsl.dialects.linalg.attrs import IteratorType
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.ir.affine import AffineMap
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.utils.hints import isa

# helpers


def _maps(op: linalg.GenericOp) -> list[AffineMap]:
    return [m.data for m in op.indexing_maps.data]


def _is_elementwise(op: linalg.GenericOp) -> bool:
    """All-parallel, on tensors, one result written through an identity map."""
    if len(op.outputs) != 1 or len(op.res) != 1:
        return False
    if any(t.data != IteratorType.PARALLEL for t in op.iterator_types.data):
        return False
    if not all(isa(v.type, TensorType[Attribute]) for v in (*op.inputs, *op.outputs)):
        return False
    rank = len(op.iterator_types.data)
    return _maps(op)[-1] == AffineMap.identity(rank)


def _fusable_operand(consumer: linalg.GenericOp) -> tuple[int, linalg.GenericOp] | None:
    """The first input of `consumer` that an elementwise generic with no other user produces,
    read through the identity map."""
    identity = AffineMap.identity(len(consumer.iterator_types.data))
    maps = _maps(consumer)
    for index, value in enumerate(consumer.inputs):
        producer = value.owner
        if not isinstance(producer, linalg.GenericOp) or not _is_elementwise(producer):
            continue
        if maps[index] != identity or value.uses.get_length() != 1:
            continue  # another user, or this one reading it twice: it would be computed twice
        if producer.body.block.args[len(producer.inputs)].uses:
            continue  # reads its init: not a pure function of its inputs
        return index, producer
    return None


# the pattern


class FuseElementwiseProducer(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: linalg.GenericOp, rewriter: PatternRewriter) -> None:
        if not _is_elementwise(op):
            return
        found = _fusable_operand(op)
        if found is None:
            return
        index, producer = found
        consumer_maps = _maps(op)
        producer_maps = _maps(producer)

        # the fused op's inputs: the consumer's, the fused one replaced by the producer's
        inputs: list[SSAValue] = []
        maps: list[AffineMap] = []
        position: dict[tuple[SSAValue, AffineMap], int] = {}

        def add(value: SSAValue, map_: AffineMap) -> int:
            if (value, map_) not in position:
                position[(value, map_)] = len(inputs)
                inputs.append(value)
                maps.append(map_)
            return position[(value, map_)]

        consumer_slots = [
            None if i == index else add(v, consumer_maps[i]) for i, v in enumerate(op.inputs)
        ]
        producer_slots = [add(v, producer_maps[i]) for i, v in enumerate(producer.inputs)]

        consumer_block = op.body.block
        producer_block = producer.body.block
        output_types = [a.type for a in consumer_block.args[len(op.inputs) :]]
        input_types = [_element(v) for v in inputs]
        block = Block(arg_types=[*input_types, *output_types])

        mapping: dict[SSAValue, SSAValue] = {}
        for arg, slot in zip(producer_block.args, producer_slots, strict=False):
            mapping[arg] = block.args[slot]
        yielded: SSAValue | None = None
        for inner in producer_block.ops:
            if isinstance(inner, linalg.YieldOp):
                yielded = mapping.get(inner.operands[0], inner.operands[0])
                break
            block.add_op(inner.clone(value_mapper=mapping))
        assert yielded is not None, "a linalg.generic's body ends in linalg.yield"
        for arg, slot in zip(consumer_block.args, consumer_slots, strict=False):
            mapping[arg] = yielded if slot is None else block.args[slot]
        for arg, new in zip(
            consumer_block.args[len(op.inputs) :], block.args[len(inputs) :], strict=True
        ):
            mapping[arg] = new
        for inner in consumer_block.ops:
            block.add_op(inner.clone(value_mapper=mapping))

        fused = linalg.GenericOp(
            inputs,
            list(op.outputs),
            Region(block),
            [AffineMapAttr(m) for m in [*maps, consumer_maps[-1]]],
            op.iterator_types,
            [r.type for r in op.res],
        )
        rewriter.replace(op, fused)
        rewriter.erase(producer)


def _element(value: SSAValue) -> Attribute:
    assert isa(value.type, TensorType[Attribute])
    return value.type.get_element_type()


# the pass


@dataclass(frozen=True)
class LinalgFuseElementwisePass(ModulePass):
    """Fuses chains of elementwise `linalg.generic`s on tensors into one generic each.

    Input: linalg on tensors (after convert-nn-to-linalg and linalg-generalize-named-ops).
    Output: the same, with every elementwise generic whose only user is an elementwise generic
    reading it through the identity map computed inside that user; bit-identical results.
    """

    name = "linalg-fuse-elementwise"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        walker = PatternRewriteWalker(
            GreedyRewritePatternApplier([FuseElementwiseProducer()]), apply_recursively=True
        )
        walker.rewrite_module(op)
