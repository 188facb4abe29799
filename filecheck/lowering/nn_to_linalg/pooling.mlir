// RUN: terrace-opt %s -p convert-nn-to-linalg --split-input-file | filecheck %s

// The ceil_mode window overhangs the input: the -inf padding covers it.
// CHECK-LABEL: func.func @max_pool_ceil
// CHECK:         %[[LOWEST:.*]] = arith.constant 0xff800000 : f32
// CHECK-NEXT:    %[[FILLED:.*]] = linalg.fill ins(%[[LOWEST]] : f32) outs(%{{.*}} : tensor<1x2x6x6xf32>)
// CHECK-NEXT:    %[[PADDED:.*]] = tensor.insert_slice %x into %[[FILLED]][0, 0, 0, 0] [1, 2, 5, 5] [1, 1, 1, 1]
// CHECK:         %[[WINDOW:.*]] = tensor.empty() : tensor<2x2xf32>
// CHECK-NEXT:    linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, ((d2 * 2) + d4), ((d3 * 2) + d5))>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>]{{.*}} ins(%[[PADDED]], %[[WINDOW]]
// CHECK:           arith.maximumf
func.func @max_pool_ceil(%x: tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32> {
  %y = nn.max_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, ceil_mode = 1 : i64} : (tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32>
  func.return %y : tensor<1x2x3x3xf32>
}

// -----

// Windows hold 2 or 3 input elements: each output divides by its count, computed from its
// index (window [2*o - 1, 2*o + 2) clipped to [0, 4)), with no count tensor.
// CHECK-LABEL: func.func @average_pool_exclude_pad
// CHECK:         %[[SUMS:.*]] = linalg.generic
// CHECK:           arith.addf
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>]{{.*}} ins(%[[SUMS]]
// CHECK:           %[[O:.*]] = linalg.index 2 : index
// CHECK-NEXT:      %[[STRIDE:.*]] = arith.constant 2 : index
// CHECK-NEXT:      %[[START:.*]] = arith.muli %[[O]], %[[STRIDE]] : index
// CHECK-NEXT:      %[[SIZE:.*]] = arith.constant 3 : index
// CHECK-NEXT:      %[[STOP:.*]] = arith.addi %[[START]], %[[SIZE]] : index
// CHECK-NEXT:      %[[LOW:.*]] = arith.constant 1 : index
// CHECK-NEXT:      %[[FIRST:.*]] = arith.maxsi %[[START]], %[[LOW]] : index
// CHECK-NEXT:      %[[HIGH:.*]] = arith.constant 5 : index
// CHECK-NEXT:      %[[LAST:.*]] = arith.minsi %[[STOP]], %[[HIGH]] : index
// CHECK-NEXT:      arith.subi %[[LAST]], %[[FIRST]] : index
// CHECK:           arith.sitofp
// CHECK-NEXT:      arith.divf
func.func @average_pool_exclude_pad(%x: tensor<1x2x4xf32>) -> tensor<1x2x2xf32> {
  %y = nn.average_pool %x {kernel_shape = array<i64: 3>, strides = array<i64: 2>, pads = array<i64: 1, 0>} : (tensor<1x2x4xf32>) -> tensor<1x2x2xf32>
  func.return %y : tensor<1x2x2xf32>
}

// -----

// Dilated windows of unequal counts: the counts are a pooled mask of ones.
// CHECK-LABEL: func.func @average_pool_dilated
// CHECK:         %[[SUMS:.*]] = linalg.generic
// CHECK:           arith.addf
// CHECK:         %[[ONES:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<5xf32>)
// CHECK:         %[[MASK:.*]] = tensor.insert_slice %[[ONES]] into %{{.*}}[1] [5] [1]
// CHECK:         %[[COUNTS:.*]] = linalg.generic {{.*}} ins(%[[MASK]]
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>]{{.*}} ins(%[[SUMS]], %[[COUNTS]]
// CHECK:           arith.divf
func.func @average_pool_dilated(%x: tensor<1x2x5xf32>) -> tensor<1x2x3xf32> {
  %y = nn.average_pool %x {kernel_shape = array<i64: 2>, dilations = array<i64: 2>, strides = array<i64: 2>, pads = array<i64: 1, 1>} : (tensor<1x2x5xf32>) -> tensor<1x2x3xf32>
  func.return %y : tensor<1x2x3xf32>
}

// -----

// A 2-d f32 pool sums as a depthwise convolution with weights of 1, the form
// conv-depthwise-kernel vectorizes: loops (n, c, oy, ox, ky, kx), the weight read as
// (c, 0, ky, kx), acc + x * w.
// CHECK-LABEL: func.func @average_pool_depthwise
// CHECK:         %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:    %[[WEIGHTS:.*]] = linalg.fill ins(%[[ONE]] : f32) outs(%{{.*}} : tensor<2x1x3x3xf32>)
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, ((d2 * 2) + d4), ((d3 * 2) + d5))>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, 0, d4, d5)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%{{.*}}, %[[WEIGHTS]]
// CHECK-NEXT:    ^{{.*}}(%[[X:.*]]: f32, %[[W:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK-NEXT:      %[[PRODUCT:.*]] = arith.mulf %[[X]], %[[W]] : f32
// CHECK-NEXT:      %[[SUM:.*]] = arith.addf %[[ACC]], %[[PRODUCT]] : f32
func.func @average_pool_depthwise(%x: tensor<1x2x8x8xf32>) -> tensor<1x2x4x4xf32> {
  %y = nn.average_pool %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>} : (tensor<1x2x8x8xf32>) -> tensor<1x2x4x4xf32>
  func.return %y : tensor<1x2x4x4xf32>
}

// -----

// Every window is full: no padding, and the divisor is a constant.
// CHECK-LABEL: func.func @average_pool_uniform
// CHECK-NOT:     tensor.insert_slice
// CHECK:         %[[COUNT:.*]] = arith.constant 4.000000e+00 : f32
// CHECK-NEXT:    arith.divf %{{.*}}, %[[COUNT]] : f32
func.func @average_pool_uniform(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> {
  %y = nn.average_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>
  func.return %y : tensor<1x2x2x2xf32>
}

// -----

// |x|^3, a sum pool over the zero-padded windows, then the cube root.
// CHECK-LABEL: func.func @lp_pool
// CHECK:         %[[POWERED:.*]] = linalg.generic
// CHECK:           math.absf
// CHECK:           math.powf
// CHECK:         tensor.insert_slice %[[POWERED]]
// CHECK:         linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]
// CHECK:           arith.addf
// CHECK:         linalg.generic
// CHECK:           %[[THIRD:.*]] = arith.constant 0.333
// CHECK:           math.powf %{{.*}}, %[[THIRD]] : f32
func.func @lp_pool(%x: tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32> {
  %y = nn.lp_pool %x {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, p = 3 : i64} : (tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  func.return %y : tensor<1x2x5x5xf32>
}

// -----

// A window over the whole input (one output position): a plain window sum, reassociable, which
// linalg-collapse-dimensions turns into one reduction over the input's 49 contiguous elements.
// CHECK-LABEL: func.func @average_pool_whole_input
// CHECK-NOT:     tensor<4x1x7x7xf32>
// CHECK:         linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]
// CHECK:           arith.addf %{{.*}}, %{{.*}} fastmath<reassoc> : f32
func.func @average_pool_whole_input(%x: tensor<1x4x7x7xf32>) -> tensor<1x4x1x1xf32> {
  %y = nn.average_pool %x {kernel_shape = array<i64: 7, 7>} : (tensor<1x4x7x7xf32>) -> tensor<1x4x1x1xf32>
  func.return %y : tensor<1x4x1x1xf32>
}
