// RUN: terrace-opt %s --split-input-file | filecheck %s
// RUN: terrace-opt %s --split-input-file --print-op-generic | terrace-opt --split-input-file | filecheck %s

// Every nn op of dialects/nn/checks.py prints in its custom format and parses back (first
// RUN), and its generic form parses back to the same ops (second RUN). Result types are checked
// by the verifier against onnx's shape inference, so each case's types are also a shape test,
// worked out by hand from the ONNX operator's definition.

// CHECK-LABEL: func.func @range_checks
// CHECK-NEXT:    %{{.*}} = nn.range_check %{{.*}} {operand = "sequence_lens", op_type = "ReverseSequence", low = 0 : i64, high = 5 : i64} : tensor<4xi64>
// CHECK-NEXT:    %{{.*}} = nn.range_check %{{.*}} {operand = "write_indices", op_type = "TensorScatter", low = 0 : i64} : tensor<2xi64>
func.func @range_checks(%lengths: tensor<4xi64>, %writes: tensor<2xi64>) -> (tensor<4xi64>, tensor<2xi64>) {
  %l = nn.range_check %lengths {operand = "sequence_lens", op_type = "ReverseSequence", low = 0 : i64, high = 5 : i64} : tensor<4xi64>
  %w = nn.range_check %writes {operand = "write_indices", op_type = "TensorScatter", low = 0 : i64} : tensor<2xi64>
  func.return %l, %w : tensor<4xi64>, tensor<2xi64>
}
