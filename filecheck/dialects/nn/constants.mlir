// RUN: terrace-opt %s --split-input-file | filecheck %s
// RUN: terrace-opt %s --split-input-file --print-op-generic | terrace-opt --split-input-file | filecheck %s

// Every nn op of dialects/nn/constants.py prints in its custom format and parses back (first
// RUN), and its generic form parses back to the same ops (second RUN). Result types are checked
// by the verifier against onnx's shape inference, so each case's types are also a shape test,
// worked out by hand from the ONNX operator's definition.

// CHECK-LABEL: func.func @constants
// CHECK-NEXT:    %{{.*}} = nn.constant {value = dense<1.000000e+00> : tensor<4xf32>} : tensor<4xf32>
// CHECK-NEXT:    %{{.*}} = nn.constant {value = dense<[1, 2, 3]> : tensor<3xi64>} : tensor<3xi64>
// CHECK-NEXT:    %{{.*}} = nn.constant_of_shape {shape = array<i64: 2, 3>, value = dense<5> : tensor<1xi64>} : tensor<2x3xi64>
// CHECK-NEXT:    %{{.*}} = nn.constant_of_shape {shape = array<i64: 4>} : tensor<4xf32>
// CHECK-NEXT:    %[[W:.*]] = nn.weight "encoder.layers.0/w" : tensor<4xf32>
// CHECK-NEXT:    func.return %[[W]] : tensor<4xf32>
func.func @constants() -> tensor<4xf32> {
  %ones = nn.constant {value = dense<1.0> : tensor<4xf32>} : tensor<4xf32>
  %shape = nn.constant {value = dense<[1, 2, 3]> : tensor<3xi64>} : tensor<3xi64>
  %fives = nn.constant_of_shape {shape = array<i64: 2, 3>, value = dense<5> : tensor<1xi64>} : tensor<2x3xi64>
  %zeros = nn.constant_of_shape {shape = array<i64: 4>} : tensor<4xf32>
  %w = nn.weight "encoder.layers.0/w" : tensor<4xf32>
  func.return %w : tensor<4xf32>
}
