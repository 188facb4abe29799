"""Graph patterns that torch.onnx emits for Hugging Face models, rebuilt as small ONNX graphs
with onnx.helper: buffers sliced and expanded to an input's shape, Shape/Gather/Unsqueeze/Concat
chains that compute reshape targets, position ids from Range, and attention masked from an
attention_mask input (by `(1 - mask) * finfo.min` and by Where). Each is compiled by Terrace and
compared with onnxruntime on random inputs.

The first reproduces a BERT export (BertForSequenceClassification fed input_ids and
attention_mask, opset 17) that failed to import: its token_type_ids come from a (1, 512)
buffer, expanded and read by a GatherElements whose indices are the first 48 position ids, all
known at import. onnx's reference GatherElements, which folded it, picks with np.choose (at most
64 choices in numpy 2) and past that falls back to code that reads one index per row; the
importer now folds it with Terrace's own kernel.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

import terrace
from terrace.frontend.onnx import import_model

RNG = np.random.default_rng(7)
SEQUENCE = 48
MAX_POSITIONS = 512
VOCAB = 100
HIDDEN = 16
FLOAT_MIN = float(np.finfo(np.float32).min)


def _int64(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def _scalar(value: int) -> onnx.TensorProto:
    return numpy_helper.from_array(np.array(value, dtype=np.int64))


def _model(
    nodes: list[onnx.NodeProto],
    inputs: dict[str, tuple[int, list[int]]],
    outputs: dict[str, int],
    initializers: dict[str, np.ndarray],
    opset: int = 17,
) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "exported",
        [helper.make_tensor_value_info(n, dtype, shape) for n, (dtype, shape) in inputs.items()],
        [helper.make_tensor_value_info(n, dtype, None) for n, dtype in outputs.items()],
        initializer=[numpy_helper.from_array(a, n) for n, a in initializers.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _check(model: onnx.ModelProto, feeds: dict[str, np.ndarray], rtol: float = 1e-5) -> None:
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    expected = session.run(None, feeds)
    actual = terrace.compile(model, cache=False).run(feeds)
    assert len(actual) == len(expected)
    for want, got in zip(expected, actual, strict=True):
        want = np.asarray(want)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-6)


def _input_ids() -> np.ndarray:
    return RNG.integers(0, VOCAB, size=(1, SEQUENCE), dtype=np.int64)


def _attention_mask() -> np.ndarray:
    mask = np.ones((1, SEQUENCE), dtype=np.int64)
    mask[0, RNG.integers(SEQUENCE // 2, SEQUENCE) :] = 0  # padding at the end
    return mask


def _sequence_length_nodes(source: str, prefix: str) -> list[onnx.NodeProto]:
    """`{prefix}length` (shape [1]): source.shape[1], as Shape -> Gather -> Unsqueeze."""
    return [
        helper.make_node("Shape", [source], [f"{prefix}shape"]),
        helper.make_node("Constant", [], [f"{prefix}one"], value=_scalar(1)),
        helper.make_node("Gather", [f"{prefix}shape", f"{prefix}one"], [f"{prefix}dim"], axis=0),
        helper.make_node("Constant", [], [f"{prefix}axes"], value_ints=[0]),
        helper.make_node("Unsqueeze", [f"{prefix}dim", f"{prefix}axes"], [f"{prefix}length"]),
    ]


def _embedding_tables() -> dict[str, np.ndarray]:
    return {
        "word_embeddings": RNG.standard_normal((VOCAB, HIDDEN)).astype(np.float32),
        "position_embeddings": RNG.standard_normal((MAX_POSITIONS, HIDDEN)).astype(np.float32),
        "token_type_embeddings": RNG.standard_normal((2, HIDDEN)).astype(np.float32),
    }


def _buffers() -> dict[str, np.ndarray]:
    # token_type_ids is all zeros in transformers; ones in a stretch make a wrong index show
    token_types = np.zeros((1, MAX_POSITIONS), dtype=np.int64)
    token_types[0, 5:20] = 1
    return {
        "token_type_ids_buffer": token_types,
        "position_ids_buffer": np.arange(MAX_POSITIONS, dtype=np.int64)[None, :],
    }


def _embedding_nodes(token_type_nodes: list[onnx.NodeProto]) -> list[onnx.NodeProto]:
    """input_ids -> `embeddings`, the sum of word, position and token type embeddings, with
    position_ids the buffer's first seq_len entries and token_type_ids from
    `token_type_nodes`."""
    return [
        *_sequence_length_nodes("input_ids", "seq/"),
        helper.make_node("Constant", [], ["zero"], value_ints=[0]),
        helper.make_node("Constant", [], ["one"], value_ints=[1]),
        helper.make_node(
            "Slice", ["position_ids_buffer", "zero", "seq/length", "one", "one"], ["position_ids"]
        ),
        *token_type_nodes,
        helper.make_node("Gather", ["word_embeddings", "input_ids"], ["words"]),
        helper.make_node("Gather", ["token_type_embeddings", "token_type_ids"], ["types"]),
        helper.make_node("Gather", ["position_embeddings", "position_ids"], ["positions"]),
        helper.make_node("Add", ["words", "types"], ["words_types"]),
        helper.make_node("Add", ["words_types", "positions"], ["embeddings"]),
    ]


def _bert_embeddings(token_type_nodes: list[onnx.NodeProto]) -> onnx.ModelProto:
    nodes = _embedding_nodes(token_type_nodes)
    initializers = {**_embedding_tables(), **_buffers()}
    inputs = {"input_ids": (TensorProto.INT64, [1, SEQUENCE])}
    return _model(nodes, inputs, {"embeddings": TensorProto.FLOAT}, initializers)


def _gathered_token_types() -> list[onnx.NodeProto]:
    """transformers 4.4x: `buffer.expand(position_ids.shape[0], -1)`, then
    `torch.gather(expanded, dim=1, index=position_ids)`; torch.onnx turns the -1 into a 1 with
    Equal and Where."""
    return [
        helper.make_node("Shape", ["position_ids"], ["positions/shape"]),
        helper.make_node("Constant", [], ["positions/zero"], value=_scalar(0)),
        helper.make_node("Gather", ["positions/shape", "positions/zero"], ["batch"], axis=0),
        helper.make_node("Unsqueeze", ["batch", "seq/axes"], ["batch_1d"]),
        helper.make_node("Constant", [], ["minus_one"], value_ints=[-1]),
        helper.make_node("Concat", ["batch_1d", "minus_one"], ["expand_sizes"], axis=0),
        helper.make_node("Equal", ["expand_sizes", "minus_one"], ["keeps"]),
        helper.make_node("Where", ["keeps", "one", "expand_sizes"], ["expand_shape"]),
        helper.make_node("Expand", ["token_type_ids_buffer", "expand_shape"], ["expanded"]),
        helper.make_node(
            "GatherElements", ["expanded", "position_ids"], ["token_type_ids"], axis=1
        ),
    ]


def _sliced_token_types() -> list[onnx.NodeProto]:
    """Older transformers: `buffer[:, :seq_length].expand(batch, seq_length)`, the shape of
    input_ids built by Concat."""
    return [
        helper.make_node(
            "Slice", ["token_type_ids_buffer", "zero", "seq/length", "one", "one"], ["sliced"]
        ),
        helper.make_node("Shape", ["input_ids"], ["ids/shape"]),
        helper.make_node("Constant", [], ["ids/zero"], value=_scalar(0)),
        helper.make_node("Gather", ["ids/shape", "ids/zero"], ["ids/batch"], axis=0),
        helper.make_node("Unsqueeze", ["ids/batch", "seq/axes"], ["ids/batch_1d"]),
        helper.make_node("Concat", ["ids/batch_1d", "seq/length"], ["ids/sizes"], axis=0),
        helper.make_node("Expand", ["sliced", "ids/sizes"], ["token_type_ids"]),
    ]


def test_bert_token_type_ids_gathered_from_an_expanded_buffer():
    model = _bert_embeddings(_gathered_token_types())
    _check(model, {"input_ids": _input_ids()})


def test_bert_token_type_ids_sliced_and_expanded_to_the_input_shape():
    model = _bert_embeddings(_sliced_token_types())
    _check(model, {"input_ids": _input_ids()})


def test_the_buffer_chain_folds_at_import_with_terraces_kernels():
    imported = import_model(_bert_embeddings(_gathered_token_types()))
    assert imported.onnx_folded_ops == ()  # GatherElements, Expand, Where... all Terrace's
    assert imported.folded_outputs == ()  # the embeddings are computed by compiled code


def test_gather_elements_over_a_long_constant_axis_folds_every_index():
    """The cause of the BERT failure, alone: GatherElements on constants along an axis of
    more entries than np.choose takes (onnx's reference reads one index per row there)."""
    length = 100
    data = RNG.standard_normal((3, length)).astype(np.float32)
    indices = RNG.integers(-length, length, size=(3, 7), dtype=np.int64)
    nodes = [
        helper.make_node("GatherElements", ["data", "indices"], ["picked"], axis=1),
        helper.make_node("Add", ["x", "picked"], ["y"]),
    ]
    model = _model(
        nodes,
        {"x": (TensorProto.FLOAT, [3, 7])},
        {"y": TensorProto.FLOAT},
        {"data": data, "indices": indices},
    )
    x = RNG.standard_normal((3, 7)).astype(np.float32)
    _check(model, {"x": x})
    expected = x + np.take_along_axis(data, np.where(indices < 0, indices + length, indices), 1)
    np.testing.assert_allclose(terrace.compile(model, cache=False)(x)[0], expected, rtol=1e-6)


def test_multi_head_reshape_from_a_shape_chain():
    """`x.view(batch, seq, heads, head_dim).permute(0, 2, 1, 3)` with batch and seq read from
    x's shape: Shape -> Gather -> Unsqueeze -> Concat -> Reshape."""
    heads = 4
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Constant", [], ["i0"], value=_scalar(0)),
        helper.make_node("Constant", [], ["i1"], value=_scalar(1)),
        helper.make_node("Gather", ["shape", "i0"], ["batch"], axis=0),
        helper.make_node("Gather", ["shape", "i1"], ["seq"], axis=0),
        helper.make_node("Constant", [], ["axes"], value_ints=[0]),
        helper.make_node("Unsqueeze", ["batch", "axes"], ["batch_1d"]),
        helper.make_node("Unsqueeze", ["seq", "axes"], ["seq_1d"]),
        helper.make_node("Constant", [], ["split"], value_ints=[heads, HIDDEN // heads]),
        helper.make_node("Concat", ["batch_1d", "seq_1d", "split"], ["sizes"], axis=0),
        helper.make_node("Reshape", ["x", "sizes"], ["heads"]),
        helper.make_node("Transpose", ["heads"], ["y"], perm=[0, 2, 1, 3]),
    ]
    model = _model(
        nodes, {"x": (TensorProto.FLOAT, [2, SEQUENCE, HIDDEN])}, {"y": TensorProto.FLOAT}, {}
    )
    _check(model, {"x": RNG.standard_normal((2, SEQUENCE, HIDDEN)).astype(np.float32)})


def test_position_ids_from_range_over_the_sequence_length():
    """`torch.arange(seq_len).unsqueeze(0)`: Range on a length from Shape, then a Gather."""
    nodes = [
        helper.make_node("Shape", ["input_ids"], ["shape"]),
        helper.make_node("Constant", [], ["i1"], value=_scalar(1)),
        helper.make_node("Gather", ["shape", "i1"], ["seq"], axis=0),
        helper.make_node("Constant", [], ["start"], value=_scalar(0)),
        helper.make_node("Constant", [], ["step"], value=_scalar(1)),
        helper.make_node("Range", ["start", "seq", "step"], ["arange"]),
        helper.make_node("Constant", [], ["axes"], value_ints=[0]),
        helper.make_node("Unsqueeze", ["arange", "axes"], ["position_ids"]),
        helper.make_node("Gather", ["position_embeddings", "position_ids"], ["positions"]),
        helper.make_node("Gather", ["word_embeddings", "input_ids"], ["words"]),
        helper.make_node("Add", ["words", "positions"], ["y"]),
    ]
    model = _model(
        nodes,
        {"input_ids": (TensorProto.INT64, [1, SEQUENCE])},
        {"y": TensorProto.FLOAT},
        _embedding_tables(),
    )
    _check(model, {"input_ids": _input_ids()})


def _attention_nodes(mask_nodes: list[onnx.NodeProto]) -> list[onnx.NodeProto]:
    """One head of self-attention on `hidden` [1, seq, hidden] to `context`, the scores masked
    by `additive_mask` ([1, 1, 1, seq]) that `mask_nodes` compute from attention_mask."""
    return [
        helper.make_node("MatMul", ["hidden", "wq"], ["q"]),
        helper.make_node("MatMul", ["hidden", "wk"], ["k"]),
        helper.make_node("MatMul", ["hidden", "wv"], ["v"]),
        helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["raw_scores"]),
        helper.make_node("Constant", [], ["scale"], value_float=float(1 / np.sqrt(HIDDEN))),
        helper.make_node("Mul", ["raw_scores", "scale"], ["scaled"]),
        helper.make_node("Constant", [], ["head_axis"], value_ints=[1]),
        helper.make_node("Unsqueeze", ["scaled", "head_axis"], ["scores"]),
        *mask_nodes,
        helper.make_node("Add", ["scores", "additive_mask"], ["masked"]),
        helper.make_node("Softmax", ["masked"], ["probabilities"], axis=-1),
        helper.make_node("Squeeze", ["probabilities", "head_axis"], ["weights"]),
        helper.make_node("MatMul", ["weights", "v"], ["context"]),
    ]


def _attention_weights() -> dict[str, np.ndarray]:
    return {
        name: (RNG.standard_normal((HIDDEN, HIDDEN)) / 4).astype(np.float32)
        for name in ("wq", "wk", "wv")
    }


def _attention(mask_nodes: list[onnx.NodeProto]) -> onnx.ModelProto:
    inputs = {
        "hidden": (TensorProto.FLOAT, [1, SEQUENCE, HIDDEN]),
        "attention_mask": (TensorProto.INT64, [1, SEQUENCE]),
    }
    nodes = _attention_nodes(mask_nodes)
    return _model(nodes, inputs, {"context": TensorProto.FLOAT}, _attention_weights())


def _attention_feeds() -> dict[str, np.ndarray]:
    hidden = RNG.standard_normal((1, SEQUENCE, HIDDEN)).astype(np.float32)
    return {"hidden": hidden, "attention_mask": _attention_mask()}


def _one_minus_mask_nodes() -> list[onnx.NodeProto]:
    """BERT's `extended_attention_mask = (1.0 - mask[:, None, None, :]) * finfo.min`."""
    return [
        helper.make_node("Constant", [], ["mask_axes"], value_ints=[1, 2]),
        helper.make_node("Unsqueeze", ["attention_mask", "mask_axes"], ["mask4d"]),
        helper.make_node("Cast", ["mask4d"], ["mask_float"], to=TensorProto.FLOAT),
        helper.make_node("Constant", [], ["one_float"], value_float=1.0),
        helper.make_node("Sub", ["one_float", "mask_float"], ["inverted"]),
        helper.make_node("Constant", [], ["float_min"], value_float=FLOAT_MIN),
        helper.make_node("Mul", ["inverted", "float_min"], ["additive_mask"]),
    ]


def test_attention_masked_by_one_minus_mask_times_float_min():
    _check(_attention(_one_minus_mask_nodes()), _attention_feeds())


def _where_mask_nodes() -> list[onnx.NodeProto]:
    """transformers' newer mask: `mask[:, None, None, :].expand(batch, 1, tgt, src)`, the
    sizes from Shape chains, then `where(mask.bool(), 0, finfo.min)`."""
    return [
        helper.make_node("Constant", [], ["mask_axes"], value_ints=[1, 2]),
        helper.make_node("Unsqueeze", ["attention_mask", "mask_axes"], ["mask4d"]),
        *_sequence_length_nodes("attention_mask", "src/"),
        *_sequence_length_nodes("hidden", "tgt/"),
        helper.make_node("Constant", [], ["batch_and_head"], value_ints=[1, 1]),
        helper.make_node(
            "Concat", ["batch_and_head", "tgt/length", "src/length"], ["mask_shape"], axis=0
        ),
        helper.make_node("Expand", ["mask4d", "mask_shape"], ["expanded_mask"]),
        helper.make_node("Cast", ["expanded_mask"], ["keep"], to=TensorProto.BOOL),
        helper.make_node("Constant", [], ["zero_float"], value_float=0.0),
        helper.make_node("Constant", [], ["float_min"], value_float=FLOAT_MIN),
        helper.make_node("Where", ["keep", "zero_float", "float_min"], ["additive_mask"]),
    ]


def test_attention_masked_by_where_over_a_mask_expanded_to_the_scores():
    _check(_attention(_where_mask_nodes()), _attention_feeds())


def test_a_small_bert_for_sequence_classification():
    """The whole failing export in small: input_ids and attention_mask in, the embeddings
    (token_type_ids gathered from the buffer), LayerNormalization, masked attention, the
    pooler on the first token and the classifier out."""
    nodes = [
        *_embedding_nodes(_gathered_token_types()),
        helper.make_node(
            "LayerNormalization", ["embeddings", "ln_scale", "ln_bias"], ["hidden"], axis=-1
        ),
        *_attention_nodes(_one_minus_mask_nodes()),
        helper.make_node("Constant", [], ["first"], value=_scalar(0)),
        helper.make_node("Gather", ["context", "first"], ["first_token"], axis=1),
        helper.make_node("Gemm", ["first_token", "pooler_weight", "pooler_bias"], ["pooled_raw"]),
        helper.make_node("Tanh", ["pooled_raw"], ["pooled"]),
        helper.make_node("Gemm", ["pooled", "classifier_weight", "classifier_bias"], ["logits"]),
    ]
    initializers = {
        **_embedding_tables(),
        **_buffers(),
        **_attention_weights(),
        "ln_scale": RNG.uniform(0.5, 1.5, HIDDEN).astype(np.float32),
        "ln_bias": RNG.standard_normal(HIDDEN).astype(np.float32),
        "pooler_weight": (RNG.standard_normal((HIDDEN, HIDDEN)) / 4).astype(np.float32),
        "pooler_bias": RNG.standard_normal(HIDDEN).astype(np.float32),
        "classifier_weight": RNG.standard_normal((HIDDEN, 2)).astype(np.float32),
        "classifier_bias": RNG.standard_normal(2).astype(np.float32),
    }
    inputs = {
        "input_ids": (TensorProto.INT64, [1, SEQUENCE]),
        "attention_mask": (TensorProto.INT64, [1, SEQUENCE]),
    }
    model = _model(nodes, inputs, {"logits": TensorProto.FLOAT}, initializers)
    _check(model, {"input_ids": _input_ids(), "attention_mask": _attention_mask()})


def test_ones_of_an_inputs_shape_from_constant_of_shape():
    """`torch.ones(input_ids.shape)` as attention_mask when none is given: ConstantOfShape of
    a Shape, folded at import, then used by compiled code."""
    nodes = [
        helper.make_node("Shape", ["input_ids"], ["shape"]),
        helper.make_node(
            "ConstantOfShape",
            ["shape"],
            ["ones"],
            value=numpy_helper.from_array(np.array([1], dtype=np.int64)),
        ),
        helper.make_node("Sub", ["ones", "input_ids"], ["y"]),
    ]
    model = _model(
        nodes, {"input_ids": (TensorProto.INT64, [1, SEQUENCE])}, {"y": TensorProto.INT64}, {}
    )
    _check(model, {"input_ids": _input_ids()})
