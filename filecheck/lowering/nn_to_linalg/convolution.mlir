// RUN: terrace-opt %s -p convert-nn-to-linalg --split-input-file | filecheck %s

// Padding is empty + fill + insert_slice; the bias initializes the accumulator.
// CHECK-LABEL: func.func @conv_padded_bias
// CHECK:         %[[EMPTY:.*]] = tensor.empty() : tensor<1x2x7x7xf32>
// CHECK:         %[[ZEROS:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[EMPTY]] : tensor<1x2x7x7xf32>)
// CHECK-NEXT:    %[[PADDED:.*]] = tensor.insert_slice %x into %[[ZEROS]][0, 0, 1, 0] [1, 2, 5, 5] [1, 1, 1, 1]
// CHECK:         %[[BIAS:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>]{{.*}} ins(%b
// CHECK:         linalg.conv_2d_nchw_fchw {strides = dense<[2, 1]> : tensor<2xi64>, dilations = dense<1> : tensor<2xi64>} ins(%[[PADDED]], %w : {{.*}}) outs(%[[BIAS]] : tensor<1x3x3x5xf32>)
func.func @conv_padded_bias(%x: tensor<1x2x5x5xf32>, %w: tensor<3x2x3x3xf32>, %b: tensor<3xf32>) -> tensor<1x3x3x5xf32> {
  %y = nn.conv %x, %w, %b {pads = array<i64: 1, 0, 1, 2>, strides = array<i64: 2, 1>} : (tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32>, tensor<3xf32>) -> tensor<1x3x3x5xf32>
  func.return %y : tensor<1x3x3x5xf32>
}

// -----

// Groups split the channel dims so that g and oc are loops of their own.
// CHECK-LABEL: func.func @conv_grouped_1d
// CHECK:         %[[X:.*]] = tensor.expand_shape %x {{.*}} into tensor<1x2x2x6xf32>
// CHECK-NEXT:    %[[W:.*]] = tensor.expand_shape %w {{.*}} into tensor<2x3x2x3xf32>
// CHECK-NEXT:    %[[INIT:.*]] = tensor.expand_shape {{.*}} into tensor<1x2x3x2xf32>
// CHECK-NEXT:    %[[CONV:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d4, (d3 + (d5 * 2)))>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, d2, d4, d5)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%[[X]], %[[W]] {{.*}} outs(%[[INIT]]
// CHECK:         tensor.collapse_shape %[[CONV]] {{.*}} into tensor<1x6x2xf32>
func.func @conv_grouped_1d(%x: tensor<1x4x6xf32>, %w: tensor<6x2x3xf32>) -> tensor<1x6x2xf32> {
  %y = nn.conv %x, %w {group = 2 : i64, dilations = array<i64: 2>} : (tensor<1x4x6xf32>, tensor<6x2x3xf32>) -> tensor<1x6x2xf32>
  func.return %y : tensor<1x6x2xf32>
}

// -----

// A grouped 1x1 convolution stays on the output's own shape (no expanded operands): loops
// (n, oc, oy, ox, ic), the input channel (oc floordiv 3) * 4 + ic, the weight read as
// (oc, ic, 0, 0): conv-grouped-kernel's form.
// CHECK-LABEL: func.func @conv_grouped_pointwise
// CHECK-NOT:     tensor.expand_shape
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, (((d1 floordiv 3) * 4) + d4), d2, d3)>, affine_map<(d0, d1, d2, d3, d4) -> (d1, d4, 0, 0)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%x, %w : tensor<1x8x3x5xf32>, tensor<6x4x1x1xf32>)
// CHECK-NOT:     tensor.collapse_shape
func.func @conv_grouped_pointwise(%x: tensor<1x8x3x5xf32>, %w: tensor<6x4x1x1xf32>) -> tensor<1x6x3x5xf32> {
  %y = nn.conv %x, %w {group = 2 : i64} : (tensor<1x8x3x5xf32>, tensor<6x4x1x1xf32>) -> tensor<1x6x3x5xf32>
  func.return %y : tensor<1x6x3x5xf32>
}

// -----

// The input is zero-inserted (stride 2) and padded by one strided insert_slice; the weights
// are transposed and flipped by a generic; then a stride-1 convolution.
// CHECK-LABEL: func.func @conv_transpose_strided
// CHECK:         %[[DILATED:.*]] = tensor.insert_slice %x into %{{.*}}[0, 0, 1] [1, 2, 3] [1, 1, 2] : tensor<1x2x3xf32> into tensor<1x2x8xf32>
// CHECK:         %[[FLIPPED:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d1, d0, ((d2 * -1) + 2))>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>]{{.*}} ins(%w
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d3, (d2 + d4))>, affine_map<(d0, d1, d2, d3, d4) -> (d1, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2)>]{{.*}} ins(%[[DILATED]], %[[FLIPPED]]
func.func @conv_transpose_strided(%x: tensor<1x2x3xf32>, %w: tensor<2x3x3xf32>) -> tensor<1x3x6xf32> {
  %y = nn.conv_transpose %x, %w {strides = array<i64: 2>, pads = array<i64: 1, 0>} : (tensor<1x2x3xf32>, tensor<2x3x3xf32>) -> tensor<1x3x6xf32>
  func.return %y : tensor<1x3x6xf32>
}

// -----

// Depthwise (as many groups as channels, one output channel each): one generic over (n, c,
// oy, ox, ky, kx) reading the weight as (c, 0, ky, kx), without the grouped form's unit loops.
// CHECK-LABEL: func.func @conv_depthwise
// CHECK-NOT:     tensor.expand_shape
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, ((d2 * 2) + d4), ((d3 * 2) + d5))>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, 0, d4, d5)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
// CHECK-NOT:     tensor.collapse_shape
func.func @conv_depthwise(%x: tensor<1x3x7x7xf32>, %w: tensor<3x1x3x3xf32>) -> tensor<1x3x3x3xf32> {
  %y = nn.conv %x, %w {group = 3 : i64, strides = array<i64: 2, 2>} : (tensor<1x3x7x7xf32>, tensor<3x1x3x3xf32>) -> tensor<1x3x3x3xf32>
  func.return %y : tensor<1x3x3x3xf32>
}

// -----

// A 1x1 convolution of a 1x1 image (squeeze-and-excitation's): a product of the pixels
// (n, c) by the weight (m, c) into an (n, m) bias init, loops (n, m, c), the 1x1 dims pinned
// to 0, then expanded back: M, not the single output pixel, is the dimension the micro-kernel
// vectorizes.
// CHECK-LABEL: func.func @conv_single_pixel
// CHECK:         %[[INIT:.*]] = linalg.generic {{.*}} ins(%b : tensor<24xf32>) outs(%{{.*}} : tensor<2x24xf32>)
// CHECK:         %[[PRODUCT:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2, 0, 0)>, affine_map<(d0, d1, d2) -> (d1, d2, 0, 0)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<2x96x1x1xf32>, tensor<24x96x1x1xf32>) outs(%[[INIT]] : tensor<2x24xf32>)
// CHECK:         tensor.expand_shape %[[PRODUCT]] {{.*}} into tensor<2x24x1x1xf32>
// CHECK-NOT:     linalg.conv_2d_nchw_fchw
func.func @conv_single_pixel(%x: tensor<2x96x1x1xf32>, %w: tensor<24x96x1x1xf32>, %b: tensor<24xf32>) -> tensor<2x24x1x1xf32> {
  %y = nn.conv %x, %w, %b : (tensor<2x96x1x1xf32>, tensor<24x96x1x1xf32>, tensor<24xf32>) -> tensor<2x24x1x1xf32>
  func.return %y : tensor<2x24x1x1xf32>
}
