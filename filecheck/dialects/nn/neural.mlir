// RUN: terrace-opt %s --split-input-file | filecheck %s
// RUN: terrace-opt %s --split-input-file --print-op-generic | terrace-opt --split-input-file | filecheck %s

// Every nn op of dialects/nn/neural.py prints in its custom format and parses back (first
// RUN), and its generic form parses back to the same ops (second RUN). Result types are checked
// by the verifier against onnx's shape inference, so each case's types are also a shape test,
// worked out by hand from the ONNX operator's definition.

// 8x8 input, 3x3 kernel, no padding: 8 - 3 + 1 = 6.
// CHECK-LABEL: func.func @conv
// CHECK-SAME:    (%[[X:.*]]: tensor<1x3x8x8xf32>)
// CHECK-NEXT:    %[[W:.*]] = nn.weight "conv1.w" : tensor<4x3x3x3xf32>
// CHECK-NEXT:    %{{.*}} = nn.conv %[[X]], %[[W]] : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
func.func @conv(%x: tensor<1x3x8x8xf32>) -> tensor<1x4x6x6xf32> {
  %w = nn.weight "conv1.w" : tensor<4x3x3x3xf32>
  %y = nn.conv %x, %w : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return %y : tensor<1x4x6x6xf32>
}

// -----

// Padding 1 on each side, stride 2: (8 + 2 - 3) / 2 + 1 = 4.
// CHECK-LABEL: func.func @conv_bias_strided
// CHECK-SAME:    (%[[X:.*]]: tensor<1x3x8x8xf32>)
// CHECK-NEXT:    %[[W:.*]] = nn.weight "conv1.w" : tensor<4x3x3x3xf32>
// CHECK-NEXT:    %[[B:.*]] = nn.weight "conv1.b" : tensor<4xf32>
// CHECK-NEXT:    %{{.*}} = nn.conv %[[X]], %[[W]], %[[B]] {pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>, group = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
func.func @conv_bias_strided(%x: tensor<1x3x8x8xf32>) -> tensor<1x4x4x4xf32> {
  %w = nn.weight "conv1.w" : tensor<4x3x3x3xf32>
  %b = nn.weight "conv1.b" : tensor<4xf32>
  %y = nn.conv %x, %w, %b {pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>, group = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  func.return %y : tensor<1x4x4x4xf32>
}

// -----

// Depthwise (group = channels), dilation 2: the 3x3 kernel spans 5, so 8 - 5 + 1 = 4.
// CHECK-LABEL: func.func @conv_depthwise_dilated
// CHECK-SAME:    (%[[X:[^:]*]]: tensor<1x4x8x8xf32>, %[[W:[^:]*]]: tensor<4x1x3x3xf32>)
// CHECK-NEXT:    %{{.*}} = nn.conv %[[X]], %[[W]] {dilations = array<i64: 2, 2>, group = 4 : i64} : (tensor<1x4x8x8xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x4x4xf32>
func.func @conv_depthwise_dilated(%x: tensor<1x4x8x8xf32>, %w: tensor<4x1x3x3xf32>) -> tensor<1x4x4x4xf32> {
  %y = nn.conv %x, %w {dilations = array<i64: 2, 2>, group = 4 : i64} : (tensor<1x4x8x8xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x4x4xf32>
  func.return %y : tensor<1x4x4x4xf32>
}

// -----

// W is C_in x C_out x kH x kW; out = 2 * (4 - 1) + 1 (output_padding) + 3 - 2 (pads) = 8.
// CHECK-LABEL: func.func @conv_transpose
// CHECK-SAME:    (%[[X:[^:]*]]: tensor<1x4x4x4xf32>, %[[W:[^:]*]]: tensor<4x2x3x3xf32>)
// CHECK-NEXT:    %{{.*}} = nn.conv_transpose %[[X]], %[[W]] {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, output_padding = array<i64: 1, 1>} : (tensor<1x4x4x4xf32>, tensor<4x2x3x3xf32>) -> tensor<1x2x8x8xf32>
func.func @conv_transpose(%x: tensor<1x4x4x4xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x2x8x8xf32> {
  %y = nn.conv_transpose %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, output_padding = array<i64: 1, 1>} : (tensor<1x4x4x4xf32>, tensor<4x2x3x3xf32>) -> tensor<1x2x8x8xf32>
  func.return %y : tensor<1x2x8x8xf32>
}

// -----

// A' = A^T is 3x4, B' = B^T is 4x5: Y is 3x5, C broadcast along rows.
// CHECK-LABEL: func.func @gemm
// CHECK-SAME:    (%[[A:[^:]*]]: tensor<4x3xf32>, %[[B:[^:]*]]: tensor<5x4xf32>, %[[C:[^:]*]]: tensor<5xf32>)
// CHECK-NEXT:    %{{.*}} = nn.gemm %[[A]], %[[B]], %[[C]] {alpha = 5.000000e-01 : f64, beta = 2.000000e+00 : f64, transA = 1 : i64, transB = 1 : i64} : (tensor<4x3xf32>, tensor<5x4xf32>, tensor<5xf32>) -> tensor<3x5xf32>
func.func @gemm(%a: tensor<4x3xf32>, %b: tensor<5x4xf32>, %c: tensor<5xf32>) -> tensor<3x5xf32> {
  %y = nn.gemm %a, %b, %c {alpha = 0.5 : f64, beta = 2.0 : f64, transA = 1 : i64, transB = 1 : i64} : (tensor<4x3xf32>, tensor<5x4xf32>, tensor<5xf32>) -> tensor<3x5xf32>
  func.return %y : tensor<3x5xf32>
}

// -----

// Batch dimensions (2, 1) and (5) broadcast to (2, 5); 3x4 @ 4x6 is 3x6.
// CHECK-LABEL: func.func @matmul
// CHECK-SAME:    (%[[A:[^:]*]]: tensor<2x1x3x4xf32>, %[[B:[^:]*]]: tensor<5x4x6xf32>)
// CHECK-NEXT:    %{{.*}} = nn.matmul %[[A]], %[[B]] : (tensor<2x1x3x4xf32>, tensor<5x4x6xf32>) -> tensor<2x5x3x6xf32>
func.func @matmul(%a: tensor<2x1x3x4xf32>, %b: tensor<5x4x6xf32>) -> tensor<2x5x3x6xf32> {
  %y = nn.matmul %a, %b : (tensor<2x1x3x4xf32>, tensor<5x4x6xf32>) -> tensor<2x5x3x6xf32>
  func.return %y : tensor<2x5x3x6xf32>
}

// -----

// CHECK-LABEL: func.func @einsum
// CHECK-NEXT:    %{{.*}} = nn.einsum %{{.*}}, %{{.*}} {equation = "bij,bjk->bik"} : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> tensor<2x3x5xf32>
// CHECK-NEXT:    %{{.*}} = nn.einsum %{{.*}} {equation = "...ii->...i"} : (tensor<2x3x3xf32>) -> tensor<2x3xf32>
func.func @einsum(%a: tensor<2x3x4xf32>, %b: tensor<2x4x5xf32>, %c: tensor<2x3x3xf32>) -> tensor<2x3x5xf32> {
  %y = nn.einsum %a, %b {equation = "bij,bjk->bik"} : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> tensor<2x3x5xf32>
  %d = nn.einsum %c {equation = "...ii->...i"} : (tensor<2x3x3xf32>) -> tensor<2x3xf32>
  func.return %y : tensor<2x3x5xf32>
}

// -----

// CHECK-LABEL: func.func @batch_normalization
// CHECK-SAME:    (%[[X:.*]]: tensor<1x4x6x6xf32>)
// CHECK:         %[[SCALE:.*]] = nn.weight "bn.scale" : tensor<4xf32>
// CHECK-NEXT:    %[[BIAS:.*]] = nn.weight "bn.bias" : tensor<4xf32>
// CHECK-NEXT:    %[[MEAN:.*]] = nn.weight "bn.mean" : tensor<4xf32>
// CHECK-NEXT:    %[[VAR:.*]] = nn.weight "bn.var" : tensor<4xf32>
// CHECK-NEXT:    %{{.*}} = nn.batch_normalization %[[X]], %[[SCALE]], %[[BIAS]], %[[MEAN]], %[[VAR]] {epsilon = 1.000000e-03 : f64} : (tensor<1x4x6x6xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
func.func @batch_normalization(%x: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  %scale = nn.weight "bn.scale" : tensor<4xf32>
  %bias = nn.weight "bn.bias" : tensor<4xf32>
  %mean = nn.weight "bn.mean" : tensor<4xf32>
  %var = nn.weight "bn.var" : tensor<4xf32>
  %y = nn.batch_normalization %x, %scale, %bias, %mean, %var {epsilon = 1.0e-3 : f64} : (tensor<1x4x6x6xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  func.return %y : tensor<1x4x6x6xf32>
}

// -----

// CHECK-LABEL: func.func @layer_normalization
// CHECK-SAME:    (%[[X:[^:]*]]: tensor<2x5x8xf32>, %[[SCALE:[^:]*]]: tensor<8xf32>, %[[B:[^:]*]]: tensor<8xf32>)
// CHECK-NEXT:    %{{.*}} = nn.layer_normalization %[[X]], %[[SCALE]], %[[B]] {axis = -1 : i64, epsilon = 1.000000e-05 : f64} : (tensor<2x5x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x5x8xf32>
// CHECK-NEXT:    %{{.*}} = nn.layer_normalization %[[X]], %[[SCALE]] : (tensor<2x5x8xf32>, tensor<8xf32>) -> tensor<2x5x8xf32>
func.func @layer_normalization(%x: tensor<2x5x8xf32>, %scale: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<2x5x8xf32> {
  %y = nn.layer_normalization %x, %scale, %b {axis = -1 : i64, epsilon = 1.0e-5 : f64} : (tensor<2x5x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x5x8xf32>
  %no_bias = nn.layer_normalization %x, %scale : (tensor<2x5x8xf32>, tensor<8xf32>) -> tensor<2x5x8xf32>
  func.return %y : tensor<2x5x8xf32>
}

// -----

// CHECK-LABEL: func.func @softmax
// CHECK-SAME:    (%[[X:.*]]: tensor<2x10xf32>)
// CHECK-NEXT:    %{{.*}} = nn.softmax %[[X]] {axis = 1 : i64} : (tensor<2x10xf32>) -> tensor<2x10xf32>
// CHECK-NEXT:    %{{.*}} = nn.log_softmax %[[X]] {axis = 0 : i64} : (tensor<2x10xf32>) -> tensor<2x10xf32>
func.func @softmax(%x: tensor<2x10xf32>) -> tensor<2x10xf32> {
  %y = nn.softmax %x {axis = 1 : i64} : (tensor<2x10xf32>) -> tensor<2x10xf32>
  %z = nn.log_softmax %x {axis = 0 : i64} : (tensor<2x10xf32>) -> tensor<2x10xf32>
  func.return %y : tensor<2x10xf32>
}

// -----

// 2x2 windows with stride 2: 8 / 2 = 4. With ceil_mode, 3x3 windows at stride 2 cover
// ceil((8 - 3) / 2) + 1 = 4 positions instead of 3.
// CHECK-LABEL: func.func @max_pool
// CHECK-SAME:    (%[[X:.*]]: tensor<1x3x8x8xf32>)
// CHECK-NEXT:    %{{.*}} = nn.max_pool %[[X]] {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
// CHECK-NEXT:    %{{.*}} = nn.max_pool %[[X]] {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, ceil_mode = 1 : i64} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
func.func @max_pool(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32> {
  %y = nn.max_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
  %ceil = nn.max_pool %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, ceil_mode = 1 : i64} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
  func.return %y : tensor<1x3x4x4xf32>
}

// -----

// A 3x3 window padded by 1 at stride 1 keeps 8x8.
// CHECK-LABEL: func.func @average_pool
// CHECK-SAME:    (%[[X:.*]]: tensor<1x3x8x8xf32>)
// CHECK-NEXT:    %{{.*}} = nn.average_pool %[[X]] {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, count_include_pad = 1 : i64} : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xf32>
func.func @average_pool(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xf32> {
  %y = nn.average_pool %x {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, count_include_pad = 1 : i64} : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xf32>
  func.return %y : tensor<1x3x8x8xf32>
}

// -----

// CHECK-LABEL: func.func @global_pools
// CHECK-SAME:    (%[[X:.*]]: tensor<1x3x8x8xf32>)
// CHECK-NEXT:    %{{.*}} = nn.global_average_pool %[[X]] : (tensor<1x3x8x8xf32>) -> tensor<1x3x1x1xf32>
// CHECK-NEXT:    %{{.*}} = nn.global_max_pool %[[X]] : (tensor<1x3x8x8xf32>) -> tensor<1x3x1x1xf32>
func.func @global_pools(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x1x1xf32> {
  %avg = nn.global_average_pool %x : (tensor<1x3x8x8xf32>) -> tensor<1x3x1x1xf32>
  %max = nn.global_max_pool %x : (tensor<1x3x8x8xf32>) -> tensor<1x3x1x1xf32>
  func.return %avg : tensor<1x3x1x1xf32>
}

// -----

// CHECK-LABEL: func.func @lrn
// CHECK-SAME:    (%[[X:.*]]: tensor<1x4x5x5xf32>)
// CHECK-NEXT:    %{{.*}} = nn.lrn %[[X]] {size = 3 : i64, bias = 2.000000e+00 : f64} : (tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32>
func.func @lrn(%x: tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32> {
  %y = nn.lrn %x {size = 3 : i64, bias = 2.0 : f64} : (tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32>
  func.return %y : tensor<1x4x5x5xf32>
}

// -----

// CHECK-LABEL: func.func @lp_pool
// CHECK-NEXT:    %{{.*}} = nn.lp_pool %{{.*}} {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, p = 3 : i64} : (tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
func.func @lp_pool(%x: tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32> {
  %r = nn.lp_pool %x {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, p = 3 : i64} : (tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  func.return %r : tensor<1x2x5x5xf32>
}
