// The npu dialect is TNPU-1's assembly (docs/npu.md, "Assembly"). Printing what terrace-opt
// parsed gives the same text; assembling to .tnpu and disassembling gives it back too.
// A 4x4 3x3 conv, 16 -> 16 channels in i8, with bias and ReLU: the bias is loaded into ACC
// rows 16.. and broadcast (src factors 0) into the 16 output rows, the GEMM accumulates onto
// it, and STORE OUT requantizes with OUT_SCALE and clamps at 0 (OUT_MIN_I).

// RUN: terrace-opt %s | terrace-opt | filecheck %s
// RUN: terrace npu-as %s -o %t.tnpu && terrace npu-objdump %t.tnpu | filecheck %s --check-prefix=DIS

// CHECK:      npu.program @conv {
// CHECK-NEXT:   npu.segment "input" dram[0x0] size(256) : i8 layout "NCHW16c" input
// CHECK-NEXT:   npu.segment "weight" dram[0x100] size(2304) : i8 layout "OIHW16o16i" weight
// CHECK-NEXT:   npu.segment "bias" dram[0xa00] size(64) : i32 layout "C16" weight
// CHECK-NEXT:   npu.segment "output" dram[0xa40] size(256) : i8 layout "NCHW16c" output
// CHECK-NEXT:   npu.segment "uops" dram[0xb40] size(80) : i8 layout "uop" scratch
// CHECK-NEXT:   npu.uops dense<{{\[\[}}0, 16, 0], [0, 0, 0], [0, 1, 1], [0, 2, 2], [0, 6, 3], [0, 7, 4], [0, 8, 5], [0, 12, 6], [0, 13, 7], [0, 14, 8]]> : tensor<10x3xi32>
// CHECK-NEXT:   npu.load uop[0] <- dram[0xb40] y(1) x(10) stride(10) : i8
// CHECK-NEXT:   npu.config store OUT_SCALE = 0x3c23d70a
// CHECK-NEXT:   npu.config store OUT_MIN_I = 0
// CHECK-NEXT:   npu.load acc[16] <- dram[0xa00] y(1) x(1) stride(1) : i32
// CHECK-NEXT:   npu.alu mov i32 uop[0:1] outer(4, dst=4) inner(4, dst=1)
// CHECK-NEXT:   npu.load inp[0] <- dram[0x0] y(4) x(4) stride(4) pad(1, 1, 1, 1) : i8
// CHECK-NEXT:   npu.load wgt[0] <- dram[0x100] y(1) x(9) stride(9) : i8 {push_next}
// CHECK-NEXT:   npu.gemm i8 uop[1:10] outer(4, dst=4, src=6) inner(4, dst=1, src=1) {pop_prev, push_next}
// CHECK-NEXT:   npu.store out[0] -> dram[0xa40] y(1) x(16) stride(16) : i8 {pop_prev, push_prev}
// CHECK-NEXT:   npu.finish {pop_next}
// CHECK-NEXT: }

// The binary keeps no program name: npu-objdump names the program after the file.
// DIS:      npu.program @{{.*}} {
// DIS-NEXT:   npu.segment "input" dram[0x0] size(256) : i8 layout "NCHW16c" input
// DIS:        npu.uops dense<{{\[\[}}0, 16, 0], [0, 0, 0], [0, 1, 1], [0, 2, 2], [0, 6, 3], [0, 7, 4], [0, 8, 5], [0, 12, 6], [0, 13, 7], [0, 14, 8]]> : tensor<10x3xi32>
// DIS-NEXT:   npu.load uop[0] <- dram[0xb40] y(1) x(10) stride(10) : i8
// DIS-NEXT:   npu.config store OUT_SCALE = 0x3c23d70a
// DIS-NEXT:   npu.config store OUT_MIN_I = 0
// DIS-NEXT:   npu.load acc[16] <- dram[0xa00] y(1) x(1) stride(1) : i32
// DIS-NEXT:   npu.alu mov i32 uop[0:1] outer(4, dst=4) inner(4, dst=1)
// DIS-NEXT:   npu.load inp[0] <- dram[0x0] y(4) x(4) stride(4) pad(1, 1, 1, 1) : i8
// DIS-NEXT:   npu.load wgt[0] <- dram[0x100] y(1) x(9) stride(9) : i8 {push_next}
// DIS-NEXT:   npu.gemm i8 uop[1:10] outer(4, dst=4, src=6) inner(4, dst=1, src=1) {pop_prev, push_next}
// DIS-NEXT:   npu.store out[0] -> dram[0xa40] y(1) x(16) stride(16) : i8 {pop_prev, push_prev}
// DIS-NEXT:   npu.finish {pop_next}

builtin.module {
  npu.program @conv {
    npu.segment "input" dram[0x0] size(256) : i8 layout "NCHW16c" input
    npu.segment "weight" dram[0x100] size(2304) : i8 layout "OIHW16o16i" weight
    npu.segment "bias" dram[0xa00] size(64) : i32 layout "C16" weight
    npu.segment "output" dram[0xa40] size(256) : i8 layout "NCHW16c" output
    npu.segment "uops" dram[0xb40] size(80) : i8 layout "uop" scratch
    npu.uops dense<[[0, 16, 0], [0, 0, 0], [0, 1, 1], [0, 2, 2], [0, 6, 3], [0, 7, 4], [0, 8, 5], [0, 12, 6], [0, 13, 7], [0, 14, 8]]> : tensor<10x3xi32>
    npu.load uop[0] <- dram[0xb40] y(1) x(10) stride(10) : i8
    npu.config store OUT_SCALE = 0x3c23d70a
    npu.config store OUT_MIN_I = 0
    npu.load acc[16] <- dram[0xa00] y(1) x(1) stride(1) : i32
    npu.alu mov i32 uop[0:1] outer(4, dst=4) inner(4, dst=1)
    npu.load inp[0] <- dram[0x0] y(4) x(4) stride(4) pad(1, 1, 1, 1) : i8
    npu.load wgt[0] <- dram[0x100] y(1) x(9) stride(9) : i8 {push_next}
    npu.gemm i8 uop[1:10] outer(4, dst=4, src=6) inner(4, dst=1, src=1) {pop_prev, push_next}
    npu.store out[0] -> dram[0xa40] y(1) x(16) stride(16) : i8 {pop_prev, push_prev}
    npu.finish {pop_next}
  }
}
