// convert-linalg-to-npu: each tiled NPU region becomes one npu.program, single-buffered and
// without tokens (npu-double-buffer, npu-dedup-uops and npu-insert-deps follow).

// RUN: terrace-opt %s --split-input-file --verify-diagnostics -p convert-linalg-to-npu | filecheck %s

// f32 1x1 conv 16 -> 16 at 2x2 in one tile. DRAM, 64-byte aligned: input 1 block x 4 pixels
// x 64 B = 256 B at 0x0, weight 1 block of 16x16 f32 = 1 KiB at 0x100, output 256 B at 0x500,
// the one-uop table at 0x600. No bias: a reset GEMM zeroes the 4 ACC rows; one LOAD brings
// the 4 contiguous input pixels, one the weight block; the GEMM runs uop (0, 0, 0) over
// outer(2 rows, dst=2, src=2) x inner(2 columns, dst=1, src=1); the reset GEMM's kernel is the
// same uop, stored once. The STORE writes the 4 rows through the store pipeline.
// CHECK-LABEL: func.func private @npu_region_0
// CHECK-SAME:    npu.program = "npu_region_0_tnpu"
// CHECK:       npu.program @npu_region_0_tnpu {
// CHECK-NEXT:    npu.segment "input" dram[0x0] size(256) : f32 layout "NCHW16c" input
// CHECK-NEXT:    npu.segment "weight" dram[0x100] size(1024) : f32 layout "OIHW16o16i" weight
// CHECK-NEXT:    npu.segment "output" dram[0x500] size(256) : f32 layout "NCHW16c" output
// CHECK-NEXT:    npu.segment "uops" dram[0x600] size(8) : i8 layout "uop" scratch
// CHECK-NEXT:    npu.uops dense<0> : tensor<1x3xi32>
// CHECK-NEXT:    npu.load uop[0] <- dram[0x600] y(1) x(1) stride(1) : i8
// CHECK-NEXT:    npu.gemm reset f32 uop[0:1] outer(1) inner(4, dst=1)
// CHECK-NEXT:    npu.load inp[0] <- dram[0x0] y(1) x(4) stride(4) : f32
// CHECK-NEXT:    npu.load wgt[0] <- dram[0x100] y(1) x(1) stride(1) : f32
// CHECK-NEXT:    npu.gemm f32 uop[0:1] outer(2, dst=2, src=2) inner(2, dst=1, src=1)
// CHECK-NEXT:    npu.store out[0] -> dram[0x500] y(1) x(4) stride(4) : f32
// CHECK-NEXT:    npu.finish
// CHECK-NEXT:  }
func.func private @npu_region_0(%x: tensor<1x16x2x2xf32>) -> tensor<1x16x2x2xf32> attributes {terrace.target = "npu", npu.tiling = array<i64: 1, 2, 2, 1, 1>} {
  %w = nn.weight "w" : tensor<16x16x1x1xf32>
  %y = nn.conv %x, %w : (tensor<1x16x2x2xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x2x2xf32>
  func.return %y : tensor<1x16x2x2xf32>
}

// -----

// The epilogue: a bias, a residual add and a ReLU. The accumulator starts from the residual
// (LOAD ACC of its 4 rows), the bias comes in as one ACC row after the tile's 4 (row 4) and
// an ALU ADD with source factors 0 broadcasts it; the ReLU is STORE OUT's lower clamp (CONFIG
// OUT_MIN_F = 0.0).
// CHECK-LABEL: npu.program @npu_region_1_tnpu
// CHECK:         npu.uops dense<{{\[}}[0, 4, 0], [0, 0, 0]]> : tensor<2x3xi32>
// CHECK:         npu.config store OUT_MIN_F = 0x00000000
// CHECK-NEXT:    npu.load acc[0] <- dram[{{.*}}] y(1) x(4) stride(4) : f32
// CHECK-NEXT:    npu.load acc[4] <- dram[{{.*}}] y(1) x(1) stride(1) : f32
// CHECK-NEXT:    npu.alu add f32 uop[0:1] outer(2, dst=2) inner(2, dst=1)
func.func private @npu_region_1(%x: tensor<1x16x2x2xf32>, %r: tensor<1x16x2x2xf32>) -> tensor<1x16x2x2xf32> attributes {terrace.target = "npu", npu.tiling = array<i64: 1, 2, 2, 1, 1>} {
  %w = nn.weight "w" : tensor<16x16x1x1xf32>
  %b = nn.weight "b" : tensor<16xf32>
  %c = nn.conv %x, %w, %b : (tensor<1x16x2x2xf32>, tensor<16x16x1x1xf32>, tensor<16xf32>) -> tensor<1x16x2x2xf32>
  %a = nn.add %c, %r : (tensor<1x16x2x2xf32>, tensor<1x16x2x2xf32>) -> tensor<1x16x2x2xf32>
  %y = nn.relu %a : (tensor<1x16x2x2xf32>) -> tensor<1x16x2x2xf32>
  func.return %y : tensor<1x16x2x2xf32>
}

// -----

// CHECK: convert-linalg-to-npu: @npu_region_2 has no npu.tiling (run npu-tile first)
func.func private @npu_region_2(%x: tensor<1x16x2x2xf32>) -> tensor<1x16x2x2xf32> attributes {terrace.target = "npu"} {
  %w = nn.weight "w" : tensor<16x16x1x1xf32>
  %y = nn.conv %x, %w : (tensor<1x16x2x2xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x2x2xf32>
  func.return %y : tensor<1x16x2x2xf32>
}

// -----

// Two regions of the same layer and tiling (different weights) share the first one's
// program: the weights are bound when a region is launched, not built into its program.
// CHECK-LABEL: func.func private @npu_region_0
// CHECK-SAME:    npu.program = "npu_region_0_tnpu"
// CHECK:       npu.program @npu_region_0_tnpu {
// CHECK:       func.func private @npu_region_1
// CHECK-SAME:    npu.program = "npu_region_0_tnpu"
// CHECK-NOT:   npu.program @npu_region_1_tnpu
func.func private @npu_region_0(%x: tensor<1x16x2x2xf32>) -> tensor<1x16x2x2xf32> attributes {terrace.target = "npu", npu.tiling = array<i64: 1, 2, 2, 1, 1>} {
  %w = nn.weight "w0" : tensor<16x16x1x1xf32>
  %y = nn.conv %x, %w : (tensor<1x16x2x2xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x2x2xf32>
  func.return %y : tensor<1x16x2x2xf32>
}
func.func private @npu_region_1(%x: tensor<1x16x2x2xf32>) -> tensor<1x16x2x2xf32> attributes {terrace.target = "npu", npu.tiling = array<i64: 1, 2, 2, 1, 1>} {
  %w = nn.weight "w1" : tensor<16x16x1x1xf32>
  %y = nn.conv %x, %w : (tensor<1x16x2x2xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x2x2xf32>
  func.return %y : tensor<1x16x2x2xf32>
}
