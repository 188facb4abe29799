// npu-double-buffer: a single-buffered program's chunk k (the INP and WGT loads before a
// GEMM, and that GEMM) moves to the halves k mod 2 of INP and WGT, its tile t (the ACC work up
// to the STORE) to the half t mod 2 of ACC. Shifted uop kernels are appended to the table.

// RUN: terrace-opt %s --split-input-file --verify-diagnostics -p npu-double-buffer | filecheck %s
// RUN: terrace-opt %s --split-input-file --verify-diagnostics -p npu-double-buffer,npu-dedup-uops,npu-insert-deps,npu-verify | filecheck %s --check-prefix=DONE

// Two tiles of one f32 1x1 conv 16 -> 32 at 2x2 (convert-linalg-to-npu's program for tiling
// oc_t = 1). f32 halves: INP 1024 rows / 2 = 512, WGT 256 blocks / 2 = 128, ACC 4096 rows /
// 2 = 2048. Tile 0 and chunk 0 stay; tile 1's reset GEMM writes ACC from row 2048 (kernel
// (2048, 0, 0), appended as uop 1: a reset GEMM reads no INP or WGT), chunk 1 loads INP row
// 512 and WGT block 128 and its GEMM reads them (kernel (2048, 512, 128), uop 2), and the
// store reads ACC row 2048. The LOAD UOP brings in the three uops.

// CHECK-LABEL: npu.program @two_tiles
// CHECK:         npu.uops dense<{{\[}}[0, 0, 0], [2048, 0, 0], [2048, 512, 128]]> : tensor<3x3xi32>
// CHECK-NEXT:    npu.load uop[0] <- dram[0xb00] y(1) x(3) stride(3) : i8
// CHECK-NEXT:    npu.gemm reset f32 uop[0:1] outer(1) inner(4, dst=1)
// CHECK-NEXT:    npu.load inp[0] <- dram[0x0] y(1) x(4) stride(4) : f32
// CHECK-NEXT:    npu.load wgt[0] <- dram[0x100] y(1) x(1) stride(1) : f32
// CHECK-NEXT:    npu.gemm f32 uop[0:1] outer(2, dst=2, src=2) inner(2, dst=1, src=1)
// CHECK-NEXT:    npu.store out[0] -> dram[0x900] y(1) x(4) stride(4) : f32
// CHECK-NEXT:    npu.gemm reset f32 uop[1:2] outer(1) inner(4, dst=1)
// CHECK-NEXT:    npu.load inp[512] <- dram[0x0] y(1) x(4) stride(4) : f32
// CHECK-NEXT:    npu.load wgt[128] <- dram[0x500] y(1) x(1) stride(1) : f32
// CHECK-NEXT:    npu.gemm f32 uop[2:3] outer(2, dst=2, src=2) inner(2, dst=1, src=1)
// CHECK-NEXT:    npu.store out[2048] -> dram[0xa00] y(1) x(4) stride(4) : f32
// CHECK-NEXT:    npu.finish

// With the tokens: tile 1's reset GEMM no longer waits for tile 0's store (other ACC rows),
// and chunk 1's loads no longer wait for chunk 0's GEMM (other INP and WGT rows).
// DONE-LABEL: npu.program @two_tiles
// DONE:         npu.load wgt[0] <- dram[0x100] y(1) x(1) stride(1) : f32 {push_next}
// DONE-NEXT:    npu.gemm f32 uop[0:1] {{.*}} {pop_prev, push_next}
// DONE-NEXT:    npu.store out[0] {{.*}} {pop_prev}
// DONE-NEXT:    npu.gemm reset f32 uop[1:2] outer(1) inner(4, dst=1){{$}}
// DONE-NEXT:    npu.load inp[512] <- dram[0x0] y(1) x(4) stride(4) : f32{{$}}
builtin.module {
  npu.program @two_tiles {
    npu.segment "input" dram[0x0] size(256) : f32 layout "NCHW16c" input
    npu.segment "weight" dram[0x100] size(2048) : f32 layout "OIHW16o16i" weight
    npu.segment "output" dram[0x900] size(512) : f32 layout "NCHW16c" output
    npu.segment "uops" dram[0xb00] size(8) : i8 layout "uop" scratch
    npu.uops dense<0> : tensor<1x3xi32>
    npu.load uop[0] <- dram[0xb00] y(1) x(1) stride(1) : i8
    npu.gemm reset f32 uop[0:1] outer(1) inner(4, dst=1)
    npu.load inp[0] <- dram[0x0] y(1) x(4) stride(4) : f32
    npu.load wgt[0] <- dram[0x100] y(1) x(1) stride(1) : f32
    npu.gemm f32 uop[0:1] outer(2, dst=2, src=2) inner(2, dst=1, src=1)
    npu.store out[0] -> dram[0x900] y(1) x(4) stride(4) : f32
    npu.gemm reset f32 uop[0:1] outer(1) inner(4, dst=1)
    npu.load inp[0] <- dram[0x0] y(1) x(4) stride(4) : f32
    npu.load wgt[0] <- dram[0x500] y(1) x(1) stride(1) : f32
    npu.gemm f32 uop[0:1] outer(2, dst=2, src=2) inner(2, dst=1, src=1)
    npu.store out[0] -> dram[0xa00] y(1) x(4) stride(4) : f32
    npu.finish
  }
}

// -----

// Already in the upper half of INP: not a single-buffered program.
// CHECK: npu-double-buffer: @upper: instruction 1 (LOAD) touches inp rows 2048..2049, past the lower half (2048 rows): the program is not single-buffered
builtin.module {
  npu.program @upper {
    npu.segment "uops" dram[0x100] size(8) : i8 layout "uop" scratch
    npu.uops dense<0> : tensor<1x3xi32>
    npu.load uop[0] <- dram[0x100] y(1) x(1) stride(1) : i8
    npu.load inp[2048] <- dram[0x0] y(1) x(1) stride(1) : i8
    npu.finish
  }
}

// -----

// The second GEMM reads the INP row the first chunk loaded (moved to row 512 as chunk 1):
// the halves cannot alternate.
// CHECK: npu-double-buffer: @reuse: GEMM (instruction 4) reads inp rows 512..513 not loaded since the previous GEMM: a chunk must load what its GEMM reads
builtin.module {
  npu.program @reuse {
    npu.segment "uops" dram[0x100] size(8) : i8 layout "uop" scratch
    npu.uops dense<0> : tensor<1x3xi32>
    npu.load uop[0] <- dram[0x100] y(1) x(1) stride(1) : i8
    npu.load inp[0] <- dram[0x0] y(1) x(1) stride(1) : f32
    npu.load wgt[0] <- dram[0x40] y(1) x(1) stride(1) : f32
    npu.gemm f32 uop[0:1] outer(1) inner(1)
    npu.gemm f32 uop[0:1] outer(1) inner(1)
    npu.store out[0] -> dram[0x200] y(1) x(1) stride(1) : f32
    npu.finish
  }
}
