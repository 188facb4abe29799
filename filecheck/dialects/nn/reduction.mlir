// RUN: terrace-opt %s --split-input-file | filecheck %s
// RUN: terrace-opt %s --split-input-file --print-op-generic | terrace-opt --split-input-file | filecheck %s

// Every nn op of dialects/nn/reduction.py prints in its custom format and parses back (first
// RUN), and its generic form parses back to the same ops (second RUN). Result types are checked
// by the verifier against onnx's shape inference, so each case's types are also a shape test,
// worked out by hand from the ONNX operator's definition.

// CHECK-LABEL: func.func @reductions
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT:    %{{.*}} = nn.reduce_mean %[[X]] {axes = array<i64: 1>} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
// CHECK-NEXT:    %{{.*}} = nn.reduce_sum %[[X]] {axes = array<i64: 0, 2>, keepdims = 0 : i64} : (tensor<2x3x4xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %{{.*}} = nn.reduce_prod %[[X]] {axes = array<i64: 2>} : (tensor<2x3x4xf32>) -> tensor<2x3x1xf32>
// CHECK-NEXT:    %{{.*}} = nn.reduce_max %[[X]] : (tensor<2x3x4xf32>) -> tensor<1x1x1xf32>
// CHECK-NEXT:    %{{.*}} = nn.reduce_min %[[X]] {axes = array<i64: -1>, keepdims = 0 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3xf32>
func.func @reductions(%x: tensor<2x3x4xf32>) -> tensor<2x1x4xf32> {
  %mean = nn.reduce_mean %x {axes = array<i64: 1>} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
  %sum = nn.reduce_sum %x {axes = array<i64: 0, 2>, keepdims = 0 : i64} : (tensor<2x3x4xf32>) -> tensor<3xf32>
  %prod = nn.reduce_prod %x {axes = array<i64: 2>} : (tensor<2x3x4xf32>) -> tensor<2x3x1xf32>
  %max = nn.reduce_max %x : (tensor<2x3x4xf32>) -> tensor<1x1x1xf32>
  %min = nn.reduce_min %x {axes = array<i64: -1>, keepdims = 0 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3xf32>
  func.return %mean : tensor<2x1x4xf32>
}

// -----

// CHECK-LABEL: func.func @arg_reductions
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT:    %{{.*}} = nn.arg_max %[[X]] {axis = 1 : i64, keepdims = 0 : i64} : (tensor<2x3x4xf32>) -> tensor<2x4xi64>
// CHECK-NEXT:    %{{.*}} = nn.arg_min %[[X]] {axis = 2 : i64, select_last_index = 1 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3x1xi64>
func.func @arg_reductions(%x: tensor<2x3x4xf32>) -> tensor<2x4xi64> {
  %argmax = nn.arg_max %x {axis = 1 : i64, keepdims = 0 : i64} : (tensor<2x3x4xf32>) -> tensor<2x4xi64>
  %argmin = nn.arg_min %x {axis = 2 : i64, select_last_index = 1 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3x1xi64>
  func.return %argmax : tensor<2x4xi64>
}

// -----

// CHECK-LABEL: func.func @cumulative
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NEXT:    %{{.*}} = nn.cum_sum %[[X]] {axis = 1 : i64, exclusive = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %{{.*}} = nn.cum_prod %[[X]] {axis = -2 : i64, reverse = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
func.func @cumulative(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %sum = nn.cum_sum %x {axis = 1 : i64, exclusive = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %prod = nn.cum_prod %x {axis = -2 : i64, reverse = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %sum : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @top_k
// CHECK-SAME:    (%[[X:.*]]: tensor<3x5xf32>)
// CHECK-NEXT:    %{{.*}}, %{{.*}} = nn.top_k %[[X]] {k = array<i64: 2>, axis = 0 : i64, largest = 0 : i64} : (tensor<3x5xf32>) -> (tensor<2x5xf32>, tensor<2x5xi64>)
func.func @top_k(%x: tensor<3x5xf32>) -> tensor<2x5xi64> {
  %values, %indices = nn.top_k %x {k = array<i64: 2>, axis = 0 : i64, largest = 0 : i64} : (tensor<3x5xf32>) -> (tensor<2x5xf32>, tensor<2x5xi64>)
  func.return %indices : tensor<2x5xi64>
}
