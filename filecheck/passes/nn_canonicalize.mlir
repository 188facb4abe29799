// RUN: terrace-opt %s -p nn-canonicalize --split-input-file | filecheck %s

// CHECK-LABEL: func.func @identity_and_dropout
// CHECK-SAME:  (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NOT:   nn.identity
// CHECK-NOT:   nn.dropout
// CHECK:       %[[Y:.*]] = nn.relu %[[X]]
// CHECK-NEXT:  func.return %[[Y]]
func.func @identity_and_dropout(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = nn.identity %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = nn.dropout %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = nn.relu %1 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %2 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_of_reshape
// CHECK-SAME:  (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT:  %[[Y:.*]] = nn.reshape %[[X]] {shape = array<i64: 4, 6>}
// CHECK-NEXT:  func.return %[[Y]]
func.func @reshape_of_reshape(%x: tensor<2x3x4xf32>) -> tensor<4x6xf32> {
  %0 = nn.reshape %x {shape = array<i64: 24>} : (tensor<2x3x4xf32>) -> tensor<24xf32>
  %1 = nn.reshape %0 {shape = array<i64: 4, -1>} : (tensor<24xf32>) -> tensor<4x6xf32>
  func.return %1 : tensor<4x6xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_to_same_type
// CHECK-SAME:  (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NEXT:  func.return %[[X]]
func.func @reshape_to_same_type(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = nn.reshape %x {shape = array<i64: 2, 3>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %0 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @flatten_of_unsqueeze
// CHECK-SAME:  (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT:  %[[Y:.*]] = nn.reshape %[[X]] {shape = array<i64: 2, 12>}
// CHECK-NEXT:  func.return %[[Y]]
func.func @flatten_of_unsqueeze(%x: tensor<2x3x4xf32>) -> tensor<2x12xf32> {
  %0 = nn.unsqueeze %x {axes = array<i64: 1>} : (tensor<2x3x4xf32>) -> tensor<2x1x3x4xf32>
  %1 = nn.flatten %0 {axis = 1 : i64} : (tensor<2x1x3x4xf32>) -> tensor<2x12xf32>
  func.return %1 : tensor<2x12xf32>
}

// -----

// CHECK-LABEL: func.func @squeeze_of_unsqueeze
// CHECK-SAME:  (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NEXT:  func.return %[[X]]
func.func @squeeze_of_unsqueeze(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = nn.unsqueeze %x {axes = array<i64: 0, 3>} : (tensor<2x3xf32>) -> tensor<1x2x3x1xf32>
  %1 = nn.squeeze %0 {axes = array<i64: 0, 3>} : (tensor<1x2x3x1xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @transpose_of_transpose
// CHECK-SAME:  (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT:  %[[Y:.*]] = nn.transpose %[[X]] {perm = array<i64: 2, 0, 1>}
// CHECK-NEXT:  func.return %[[Y]]
func.func @transpose_of_transpose(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %0 = nn.transpose %x {perm = array<i64: 1, 0, 2>} : (tensor<2x3x4xf32>) -> tensor<3x2x4xf32>
  %1 = nn.transpose %0 {perm = array<i64: 2, 1, 0>} : (tensor<3x2x4xf32>) -> tensor<4x2x3xf32>
  func.return %1 : tensor<4x2x3xf32>
}

// -----

// CHECK-LABEL: func.func @transposes_that_cancel
// CHECK-SAME:  (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT:  func.return %[[X]]
func.func @transposes_that_cancel(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %0 = nn.transpose %x : (tensor<2x3x4xf32>) -> tensor<4x3x2xf32>
  %1 = nn.transpose %0 : (tensor<4x3x2xf32>) -> tensor<2x3x4xf32>
  func.return %1 : tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func.func @fold_small_constant
// CHECK-NEXT:  %[[C:.*]] = nn.constant {value = dense<[4.000000e+00, 6.000000e+00]> : tensor<2xf32>}
// CHECK-NEXT:  func.return %[[C]]
func.func @fold_small_constant() -> tensor<2xf32> {
  %a = nn.constant {value = dense<[1.0, 2.0]> : tensor<2xf32>} : tensor<2xf32>
  %b = nn.constant {value = dense<[3.0, 4.0]> : tensor<2xf32>} : tensor<2xf32>
  %0 = nn.add %a, %b : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  func.return %0 : tensor<2xf32>
}

// -----

// A splat stays inline however large.
// CHECK-LABEL: func.func @fold_splat
// CHECK-NEXT:  %[[C:.*]] = nn.constant {value = dense<2.000000e+00> : tensor<64x64xf32>}
// CHECK-NEXT:  func.return %[[C]]
func.func @fold_splat() -> tensor<64x64xf32> {
  %a = nn.constant_of_shape {shape = array<i64: 64, 64>, value = dense<-2.0> : tensor<1xf32>} : tensor<64x64xf32>
  %0 = nn.abs %a : (tensor<64x64xf32>) -> tensor<64x64xf32>
  func.return %0 : tensor<64x64xf32>
}

// -----

// A large folded result goes to the weight store, not into the IR.
// CHECK-LABEL: func.func @fold_into_weight
// CHECK-NEXT:  %[[W:.*]] = nn.weight "folded.transpose" : tensor<5x4xf32>
// CHECK-NEXT:  func.return %[[W]]
func.func @fold_into_weight() -> tensor<5x4xf32> {
  %a = nn.constant {value = dense<[[0.0, 1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0, 9.0], [10.0, 11.0, 12.0, 13.0, 14.0], [15.0, 16.0, 17.0, 18.0, 19.0]]> : tensor<4x5xf32>} : tensor<4x5xf32>
  %0 = nn.transpose %a : (tensor<4x5xf32>) -> tensor<5x4xf32>
  func.return %0 : tensor<5x4xf32>
}

// -----

// An op with a non-constant operand is not folded.
// CHECK-LABEL: func.func @no_fold_of_argument
// CHECK:       nn.add
func.func @no_fold_of_argument(%x: tensor<2xf32>) -> tensor<2xf32> {
  %a = nn.constant {value = dense<[1.0, 2.0]> : tensor<2xf32>} : tensor<2xf32>
  %0 = nn.add %a, %x : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  func.return %0 : tensor<2xf32>
}
