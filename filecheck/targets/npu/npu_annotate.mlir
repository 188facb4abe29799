// npu-annotate: each nn.conv says where TNPU-1 v1 runs it and why (docs/npu.md, "The npu
// target"); nothing else changes.

// RUN: terrace-opt %s --split-input-file -p npu-annotate | filecheck %s
// RUN: terrace-opt %s --split-input-file -p 'npu-annotate{tiny=true}' | filecheck %s --check-prefix=TINY

// 32 -> 32 channels, 3x3, pad 1, constant weights and bias: mapped.
// CHECK-LABEL: func.func @mapped
// CHECK:       nn.conv {{.*}}npu.device = "npu", npu.reason = "conv layer mapped"
func.func @mapped(%x: tensor<1x32x14x14xf32>) -> tensor<1x32x14x14xf32> {
  %w = nn.weight "w" : tensor<32x32x3x3xf32>
  %b = nn.weight "b" : tensor<32xf32>
  %y = nn.conv %x, %w, %b {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x32x14x14xf32>, tensor<32x32x3x3xf32>, tensor<32xf32>) -> tensor<1x32x14x14xf32>
  func.return %y : tensor<1x32x14x14xf32>
}

// -----

// A stem conv: 3 input channels would fill 3 of the GEMM's 16 lanes.
// CHECK-LABEL: func.func @stem
// CHECK:       npu.device = "cpu", npu.reason = "Cin 3 < 16: the 16-lane GEMM would run 3/16 full"
func.func @stem(%x: tensor<1x3x16x16xf32>) -> tensor<1x16x16x16xf32> {
  %w = nn.weight "w" : tensor<16x3x3x3xf32>
  %y = nn.conv %x, %w {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x3x16x16xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x16x16xf32>
  func.return %y : tensor<1x16x16x16xf32>
}

// -----

// A depthwise conv (group = channels).
// CHECK-LABEL: func.func @depthwise
// CHECK:       npu.device = "cpu", npu.reason = "not a 2-D conv with group 1 and dilation 1"
func.func @depthwise(%x: tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32> {
  %w = nn.weight "w" : tensor<32x1x3x3xf32>
  %y = nn.conv %x, %w {pads = array<i64: 1, 1, 1, 1>, group = 32 : i64} : (tensor<1x32x8x8xf32>, tensor<32x1x3x3xf32>) -> tensor<1x32x8x8xf32>
  func.return %y : tensor<1x32x8x8xf32>
}

// -----

// Weights that arrive at run time.
// CHECK-LABEL: func.func @runtime_weights
// CHECK:       npu.device = "cpu", npu.reason = "weights are not constants"
func.func @runtime_weights(%x: tensor<1x16x8x8xf32>, %w: tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32> {
  %y = nn.conv %x, %w : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32>
  func.return %y : tensor<1x16x8x8xf32>
}

// -----

// Batch 2, and pads past the LOAD's 4-bit pad fields.
// CHECK-LABEL: func.func @batch_and_pads
// CHECK:       npu.device = "cpu", npu.reason = "batch > 1 (out of scope for TNPU-1 v1)"
// CHECK:       npu.device = "cpu", npu.reason = "padding 16 > 15 (the LOAD pad fields are 4 bits)"
func.func @batch_and_pads(%x: tensor<2x16x8x8xf32>, %z: tensor<1x16x8x8xf32>) -> (tensor<2x16x8x8xf32>, tensor<1x16x39x39xf32>) {
  %w = nn.weight "w" : tensor<16x16x1x1xf32>
  %y = nn.conv %x, %w : (tensor<2x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<2x16x8x8xf32>
  %p = nn.conv %z, %w {pads = array<i64: 15, 15, 16, 16>} : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x39x39xf32>
  func.return %y, %p : tensor<2x16x8x8xf32>, tensor<1x16x39x39xf32>
}

// -----

// 512 -> 512 channels, 3x3 in f32 at 56 x 56: a tiling fits the default buffers; the 8 KiB
// configuration holds 4 weight blocks per half of WGT and 64 f32 rows per half of INP, and
// still finds one (kernel rows and width split). Both map.
// CHECK-LABEL: func.func @big
// CHECK:       npu.device = "npu"
// TINY-LABEL:  func.func @big
// TINY:        npu.device = "npu"
func.func @big(%x: tensor<1x512x56x56xf32>) -> tensor<1x512x56x56xf32> {
  %w = nn.weight "w" : tensor<512x512x3x3xf32>
  %y = nn.conv %x, %w {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x512x56x56xf32>, tensor<512x512x3x3xf32>) -> tensor<1x512x56x56xf32>
  func.return %y : tensor<1x512x56x56xf32>
}

// -----

// MatMul and Gemm are 1x1 convs with M pixels: K = 32 maps; a gemm with alpha 2 and a
// matmul with K = 8 stay on the CPU.
// CHECK-LABEL: func.func @matmuls
// CHECK:       nn.matmul {{.*}}npu.device = "npu", npu.reason = "matmul layer mapped"
// CHECK:       nn.gemm {{.*}}npu.device = "npu", npu.reason = "matmul layer mapped"
// CHECK:       nn.gemm {{.*}}npu.device = "cpu", npu.reason = "Gemm with alpha or beta other than 1"
// CHECK:       nn.matmul {{.*}}npu.device = "cpu", npu.reason = "K 8 < 16: the 16-lane GEMM would run 8/16 full"
func.func @matmuls(%x: tensor<4x32xf32>, %s: tensor<4x8xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) {
  %b = nn.weight "b" : tensor<32x16xf32>
  %bt = nn.weight "bt" : tensor<16x32xf32>
  %c = nn.weight "c" : tensor<16xf32>
  %b8 = nn.weight "b8" : tensor<8x16xf32>
  %y0 = nn.matmul %x, %b : (tensor<4x32xf32>, tensor<32x16xf32>) -> tensor<4x16xf32>
  %y1 = nn.gemm %x, %bt, %c {transB = 1 : i64} : (tensor<4x32xf32>, tensor<16x32xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %y2 = nn.gemm %x, %b {alpha = 2.0 : f32} : (tensor<4x32xf32>, tensor<32x16xf32>) -> tensor<4x16xf32>
  %y3 = nn.matmul %s, %b8 : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  func.return %y0, %y1, %y2, %y3 : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>
}
