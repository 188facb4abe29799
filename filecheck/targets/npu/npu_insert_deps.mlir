// npu-insert-deps: the tokens an npu.program needs, from what each instruction reads and
// writes. The result passes npu-verify (balanced FIFOs, no deadlock).

// RUN: terrace-opt %s --split-input-file -p npu-insert-deps | filecheck %s
// RUN: terrace-opt %s --split-input-file -p npu-insert-deps,npu-verify | filecheck %s

// Two tiles through one INP row, one WGT block and one ACC row. LOAD UOP runs on the compute
// module (in order with the GEMMs: no token). The first GEMM waits for the last load it reads
// (the WGT block; the INP load before it is covered by that wait), the store waits for the
// GEMM, the second INP load must not overwrite row 0 before the first GEMM read it (WAR: it
// waits on the compute module), the second GEMM waits for that load and, as it rewrites ACC
// row 0, for the first store (WAR); FINISH waits for the last store.

// CHECK-LABEL: npu.program @two_tiles
// CHECK-NEXT:    npu.uops
// CHECK-NEXT:    npu.load uop[0] <- dram[0x0] y(1) x(1) stride(1) : i8{{$}}
// CHECK-NEXT:    npu.load inp[0] <- dram[0x100] y(1) x(1) stride(1) : i8{{$}}
// CHECK-NEXT:    npu.load wgt[0] <- dram[0x400] y(1) x(1) stride(1) : i8 {push_next}
// CHECK-NEXT:    npu.gemm i8 uop[0:1] outer(1) inner(1) {pop_prev, push_prev, push_next}
// CHECK-NEXT:    npu.store out[0] -> dram[0x800] y(1) x(1) stride(1) : i8 {pop_prev, push_prev}
// CHECK-NEXT:    npu.load inp[0] <- dram[0x110] y(1) x(1) stride(1) : i8 {pop_next, push_next}
// CHECK-NEXT:    npu.gemm i8 uop[0:1] outer(1) inner(1) {pop_prev, pop_next, push_next}
// CHECK-NEXT:    npu.store out[0] -> dram[0x810] y(1) x(1) stride(1) : i8 {pop_prev, push_prev}
// CHECK-NEXT:    npu.finish {pop_next}
builtin.module {
  npu.program @two_tiles {
    npu.uops dense<[[0, 0, 0]]> : tensor<1x3xi32>
    npu.load uop[0] <- dram[0x0] y(1) x(1) stride(1) : i8
    npu.load inp[0] <- dram[0x100] y(1) x(1) stride(1) : i8
    npu.load wgt[0] <- dram[0x400] y(1) x(1) stride(1) : i8
    npu.gemm i8 uop[0:1] outer(1) inner(1)
    npu.store out[0] -> dram[0x800] y(1) x(1) stride(1) : i8
    npu.load inp[0] <- dram[0x110] y(1) x(1) stride(1) : i8
    npu.gemm i8 uop[0:1] outer(1) inner(1)
    npu.store out[0] -> dram[0x810] y(1) x(1) stride(1) : i8
    npu.finish
  }
}

// -----

// Existing flags are replaced, not added to: the two loads write disjoint halves of INP
// (rows 0 and 1, double buffering), so the second load needs no wait for the GEMM that reads
// row 0, whatever the input said; the GEMM reading row 1 waits for the second load only.

// CHECK-LABEL: npu.program @halves
// CHECK-NEXT:    npu.uops
// CHECK-NEXT:    npu.load uop[0] <- dram[0x0] y(1) x(2) stride(2) : i8{{$}}
// CHECK-NEXT:    npu.load wgt[0] <- dram[0x400] y(1) x(1) stride(1) : i8{{$}}
// CHECK-NEXT:    npu.load inp[0] <- dram[0x100] y(1) x(1) stride(1) : i8 {push_next}
// CHECK-NEXT:    npu.gemm i8 uop[0:1] outer(1) inner(1) {pop_prev}
// CHECK-NEXT:    npu.load inp[1] <- dram[0x110] y(1) x(1) stride(1) : i8 {push_next}
// CHECK-NEXT:    npu.gemm i8 uop[1:2] outer(1) inner(1) {pop_prev, push_next}
// CHECK-NEXT:    npu.store out[0] -> dram[0x800] y(1) x(2) stride(2) : i8 {pop_prev, push_prev}
// CHECK-NEXT:    npu.finish {pop_next}
builtin.module {
  npu.program @halves {
    npu.uops dense<[[0, 0, 0], [1, 1, 0]]> : tensor<2x3xi32>
    npu.load uop[0] <- dram[0x0] y(1) x(2) stride(2) : i8
    npu.load wgt[0] <- dram[0x400] y(1) x(1) stride(1) : i8
    npu.load inp[0] <- dram[0x100] y(1) x(1) stride(1) : i8 {push_next}
    npu.gemm i8 uop[0:1] outer(1) inner(1) {pop_prev, push_prev}
    npu.load inp[1] <- dram[0x110] y(1) x(1) stride(1) : i8 {pop_next, push_next}
    npu.gemm i8 uop[1:2] outer(1) inner(1) {pop_prev, push_next}
    npu.store out[0] -> dram[0x800] y(1) x(2) stride(2) : i8 {pop_prev, push_prev}
    npu.finish {pop_next}
  }
}
