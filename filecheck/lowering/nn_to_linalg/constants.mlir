// RUN: terrace-opt %s -p convert-nn-to-linalg --split-input-file | filecheck %s

// CHECK-LABEL: func.func @constant
// CHECK-NEXT:    %[[C:.*]] = arith.constant dense<[1, 2, 3]> : tensor<3xi64>
// CHECK-NEXT:    func.return %[[C]]
func.func @constant() -> tensor<3xi64> {
  %c = nn.constant {value = dense<[1, 2, 3]> : tensor<3xi64>} : tensor<3xi64>
  func.return %c : tensor<3xi64>
}

// -----

// CHECK-LABEL: func.func @constant_of_shape
// CHECK:         %[[INIT:.*]] = tensor.empty() : tensor<2x3xi32>
// CHECK-NEXT:    %[[SEVEN:.*]] = arith.constant 7 : i32
// CHECK-NEXT:    linalg.fill ins(%[[SEVEN]] : i32) outs(%[[INIT]] : tensor<2x3xi32>)
func.func @constant_of_shape() -> tensor<2x3xi32> {
  %c = nn.constant_of_shape {shape = array<i64: 2, 3>, value = dense<7> : tensor<1xi32>} : tensor<2x3xi32>
  func.return %c : tensor<2x3xi32>
}

// -----

// CHECK-LABEL: func.func @shape
// CHECK-NEXT:    %[[S:.*]] = arith.constant dense<[3, 4]> : tensor<2xi64>
// CHECK-NEXT:    func.return %[[S]]
func.func @shape(%x: tensor<2x3x4xf32>) -> tensor<2xi64> {
  %s = nn.shape %x {start = 1 : i64} : (tensor<2x3x4xf32>) -> tensor<2xi64>
  func.return %s : tensor<2xi64>
}

// -----

// CHECK-LABEL: func.func @weight_stays
// CHECK-NEXT:    %[[W:.*]] = nn.weight "w" : tensor<2xf32>
// CHECK-NEXT:    func.return %[[W]]
func.func @weight_stays() -> tensor<2xf32> {
  %w = nn.weight "w" : tensor<2xf32>
  func.return %w : tensor<2xf32>
}
