// npu-tile: each NPU region gets the tiling its program is built with, as
// npu.tiling = array<i64: oc_t, oh_t, ow_t, ic_c, kh_c>.

// RUN: terrace-opt %s --split-input-file --verify-diagnostics -p npu-tile | filecheck %s
// RUN: terrace-opt %s --split-input-file --verify-diagnostics -p 'npu-tile{tiny=true}' | filecheck %s --check-prefix=TINY

// A 1x1 conv 16 -> 16 at 4x4 fits one tile on both configurations (16 INP rows, 1 WGT block,
// 16 ACC rows, all far below half of each buffer): one tile, one chunk, the fewest fixed costs.
// CHECK-LABEL: func.func private @npu_region_0
// CHECK-SAME:    npu.tiling = array<i64: 1, 4, 4, 1, 1>
// TINY-LABEL:  func.func private @npu_region_0
// TINY-SAME:     npu.tiling = array<i64: 1, 4, 4, 1, 1>
func.func private @npu_region_0(%x: tensor<1x16x4x4xf32>) -> tensor<1x16x4x4xf32> attributes {terrace.target = "npu"} {
  %w = nn.weight "w" : tensor<16x16x1x1xf32>
  %y = nn.conv %x, %w : (tensor<1x16x4x4xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x4x4xf32>
  func.return %y : tensor<1x16x4x4xf32>
}

// -----

// f32 3x3 64 -> 64 at 56x56. The 8 KiB configuration holds 8192 / 1024 / 2 = 4 f32 weight
// blocks per half of WGT, fewer than one (ob, ib) pair's 9: oc_t * ic_c * kh_c * 3 <= 4 leaves
// one output block, one input block and one kernel row per chunk.
// The default holds 128 blocks per half: kernel rows stay together.
// CHECK-LABEL: func.func private @npu_region_1
// CHECK-SAME:    npu.tiling = array<i64: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 3>
// TINY-LABEL:  func.func private @npu_region_1
// TINY-SAME:     npu.tiling = array<i64: 1, {{[0-9]+}}, {{[0-9]+}}, 1, 1>
func.func private @npu_region_1(%x: tensor<1x64x56x56xf32>) -> tensor<1x64x56x56xf32> attributes {terrace.target = "npu"} {
  %w = nn.weight "w" : tensor<64x64x3x3xf32>
  %y = nn.conv %x, %w {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x64x56x56xf32>, tensor<64x64x3x3xf32>) -> tensor<1x64x56x56xf32>
  func.return %y : tensor<1x64x56x56xf32>
}

// -----

// A region whose conv cannot map says why.
// CHECK: npu-tile: @npu_region_2: its conv does not map: Cin 3 < 16: the 16-lane GEMM would run 3/16 full
func.func private @npu_region_2(%x: tensor<1x3x8x8xf32>) -> tensor<1x16x8x8xf32> attributes {terrace.target = "npu"} {
  %w = nn.weight "w" : tensor<16x3x1x1xf32>
  %y = nn.conv %x, %w : (tensor<1x3x8x8xf32>, tensor<16x3x1x1xf32>) -> tensor<1x16x8x8xf32>
  func.return %y : tensor<1x16x8x8xf32>
}
