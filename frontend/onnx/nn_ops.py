"""Builds the nn op of an ONNX node: the inputs that the op takes as attributes read from
known values, the others grouped as its operand definitions, the result types inferred and
checked against the importer's size limits."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

import numpy as np
import onnx
from onnx import helper
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, SSAValue

from ...dialects.nn import ONNX_OPS, NnOperation
from ...dialects.nn.base import attribute_from_python, element_type_from_numpy
from ...errors import ModelImportError
from .emitter import NodeError, RunTimeValueError
from .graph import check_shape
from .values import static_value


def make_op(
    node: onnx.NodeProto,
    op_type: str,
    attributes: dict[str, object],
    inputs: Sequence[str] | None,
    operand: Callable[[str], SSAValue],
    known: Callable[[str], np.ndarray | None],
    used: Collection[str],
) -> NnOperation:
    """The nn op of `node`, not inserted anywhere: constant inputs that the op takes as
    attributes become attributes (`known` gives their values, None for a run-time value),
    the others its operands (`operand` gives their values), and its result types are
    inferred. `used` names the values that other nodes read."""
    op_class = ONNX_OPS[op_type]
    names = list(node.input if inputs is None else inputs)
    dynamic: list[str] = []
    for position, name in enumerate(names):
        static_name = op_class.STATIC_INPUTS.get(position)
        if static_name is None:
            dynamic.append(name)
            continue
        if not name:
            continue
        value = known(name)
        if value is None:
            raise RunTimeValueError(name, f"input '{name}' ({static_name}) must be constant")
        attributes[static_name] = static_value(op_class.ATTRIBUTES[static_name].kind, value)
    attrs: dict[str, Attribute] = {
        key: attribute_from_python(op_class.ATTRIBUTES[key].kind, value)
        for key, value in attributes.items()
    }
    operands = _group_operands(op_class, dynamic, operand)
    result_count = len([n for n in node.output if n]) if op_type == "Split" else 1
    _check_unused_extra_outputs(node, op_type, used)
    probe = op_class.build(
        operands=operands,
        attributes=attrs,
        result_types=_placeholder_results(op_class, result_count),
    )
    inferred = probe.infer_result_types()
    if any(t is None for t in inferred):
        raise NodeError("cannot infer a static result shape")
    for result_type in inferred:
        _check_result_shape(result_type)
    result_types = _group_results(op_class, [t for t in inferred if t is not None])
    op = op_class.build(operands=operands, attributes=attrs, result_types=result_types)
    probe.erase(safe_erase=False)
    return op


def _group_operands(
    op_class: type[NnOperation], names: list[str], operand: Callable[[str], SSAValue]
) -> list[SSAValue | None | list[SSAValue]]:
    from xdsl.irdl import OptOperandDef, VarOperandDef

    while names and not names[-1]:
        names.pop()
    remaining = list(names)
    grouped: list[SSAValue | None | list[SSAValue]] = []
    for _, definition in op_class.get_irdl_definition().operands:
        if isinstance(definition, OptOperandDef):
            name = remaining.pop(0) if remaining else ""
            grouped.append([operand(name)] if name else [])
        elif isinstance(definition, VarOperandDef):
            grouped.append([operand(n) for n in remaining if n])
            remaining = []
        else:
            if not remaining or not remaining[0]:
                raise NodeError("a required input is missing")
            grouped.append(operand(remaining.pop(0)))
    if remaining:
        raise NodeError(f"too many inputs ({len(names)})")
    return grouped


def _check_unused_extra_outputs(node: onnx.NodeProto, op_type: str, used: Collection[str]) -> None:
    several = len(ONNX_OPS[op_type].get_irdl_definition().results) > 1  # TopK
    if op_type != "Split" and not several and uses_extra_outputs(node, used):
        read = next(n for n in node.output[1:] if n in used)
        raise NodeError(f"output '{read}' (an optional output) is not supported")


def uses_extra_outputs(node: onnx.NodeProto, used: Collection[str]) -> bool:
    """Whether another node reads an output of `node` past its first."""
    return any(name in used for name in node.output[1:] if name)


def _placeholder_results(
    op_class: type[NnOperation], count: int
) -> list[Attribute | list[Attribute]]:
    from xdsl.irdl import VarResultDef

    placeholder: Attribute = TensorType(element_type_from_numpy(np.dtype(np.float32)), [1])
    results: list[Attribute | list[Attribute]] = []
    for _, definition in op_class.get_irdl_definition().results:
        if isinstance(definition, VarResultDef):
            results.append([placeholder for _ in range(count)])
        else:
            results.append(placeholder)
    return results


def _group_results(
    op_class: type[NnOperation], types: list[TensorType[Attribute]]
) -> list[Attribute | list[Attribute]]:
    """Result types in the op's result groups (nn ops have either one result or one variadic
    group of results)."""
    from xdsl.irdl import VarResultDef

    definitions = [d for _, d in op_class.get_irdl_definition().results]
    if len(definitions) == 1 and isinstance(definitions[0], VarResultDef):
        return [list[Attribute](types)]
    return list[Attribute | list[Attribute]](types)


def _check_result_shape(result_type: TensorType[Attribute] | None) -> None:
    """Results past MAX_ELEMENTS (an Expand or Tile to 2**40) are refused at import, before
    any later stage allocates them."""
    if result_type is None:
        return
    try:
        check_shape(result_type.get_shape(), "the result")
    except ModelImportError as error:
        raise NodeError(str(error)) from None


def onnx_type(array: np.ndarray) -> int:
    return helper.np_dtype_to_tensor_dtype(array.dtype)


def name_hint(name: str) -> str | None:
    """An MLIR-legal SSA name from an ONNX value name, or None."""
    cleaned = "".join(c if c.isalnum() or c in "_$." else "_" for c in name)
    if not cleaned or cleaned[0].isdigit():
        cleaned = f"v{cleaned}"
    return cleaned
