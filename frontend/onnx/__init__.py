"""The ONNX importer: a model to a module with `func.func @main` and nn ops.

importer.py        the converter: a graph's nodes in order, each by the first way that applies
graph.py, values.py, bound_values.py, container_io.py, functions.py, folding.py,
lowprecision.py    what it reads and evaluates at import (the graph, attributes, bound
                   inputs, sequence and optional I/O, function bodies, constant folding,
                   low-precision element types)
adapters.py        ops as older opsets defined them
registry.py        the ops converted into other nn ops (`@decomposition`), declared in
control_flow/      If, Loop, Scan, sequences and optionals, resolved at import
decompose/         the rest, one module or package per ONNX operator category
"""

from .importer import ImportedModel, TensorSpec, import_model

__all__ = ["ImportedModel", "TensorSpec", "import_model"]
