// npu-dedup-uops: the uop table rebuilt from what the GEMMs and ALUs read, in program order,
// an identical kernel stored once, unused rows dropped; the LOAD UOP and the `uops` segment
// take the new size.

// RUN: terrace-opt %s --split-input-file --verify-diagnostics -p npu-dedup-uops | filecheck %s
// RUN: terrace-opt %s --split-input-file --verify-diagnostics -p npu-dedup-uops,npu-dedup-uops | filecheck %s

// Rows: 0 (unused), 1-2 = kernel A, 3-4 = kernel A again, 5 = kernel B. The first GEMM reads
// 3-4 (A), the second 5 (B), the third 1-2 (A). In program order: A becomes rows 0-1, B row 2;
// the third GEMM shares A's rows; rows 0 and the second copy go. The segment shrinks from
// 6 * 8 = 48 to 3 * 8 = 24 bytes.

// CHECK-LABEL: npu.program @shared
// CHECK:         npu.segment "uops" dram[0x400] size(24) : i8 layout "uop" scratch
// CHECK-NEXT:    npu.uops dense<{{\[}}[0, 0, 0], [1, 1, 0], [2, 0, 1]]> : tensor<3x3xi32>
// CHECK-NEXT:    npu.load uop[0] <- dram[0x400] y(1) x(3) stride(3) : i8
// CHECK-NEXT:    npu.load inp[0] <- dram[0x0] y(1) x(2) stride(2) : i8
// CHECK-NEXT:    npu.load wgt[0] <- dram[0x100] y(1) x(2) stride(2) : i8
// CHECK-NEXT:    npu.gemm reset i8 uop[0:2] outer(1) inner(1)
// CHECK-NEXT:    npu.gemm i8 uop[2:3] outer(1) inner(1)
// CHECK-NEXT:    npu.gemm i8 uop[0:2] outer(1) inner(1)
// CHECK-NEXT:    npu.store out[0] -> dram[0x300] y(1) x(3) stride(3) : i8
builtin.module {
  npu.program @shared {
    npu.segment "input" dram[0x0] size(32) : i8 layout "NCHW16c" input
    npu.segment "weight" dram[0x100] size(512) : i8 layout "OIHW16o16i" weight
    npu.segment "output" dram[0x300] size(48) : i8 layout "NCHW16c" output
    npu.segment "uops" dram[0x400] size(48) : i8 layout "uop" scratch
    npu.uops dense<[[7, 7, 7], [0, 0, 0], [1, 1, 0], [0, 0, 0], [1, 1, 0], [2, 0, 1]]> : tensor<6x3xi32>
    npu.load uop[0] <- dram[0x400] y(1) x(6) stride(6) : i8
    npu.load inp[0] <- dram[0x0] y(1) x(2) stride(2) : i8
    npu.load wgt[0] <- dram[0x100] y(1) x(2) stride(2) : i8
    npu.gemm reset i8 uop[3:5] outer(1) inner(1)
    npu.gemm i8 uop[5:6] outer(1) inner(1)
    npu.gemm i8 uop[1:3] outer(1) inner(1)
    npu.store out[0] -> dram[0x300] y(1) x(3) stride(3) : i8
    npu.finish
  }
}

// -----

// A kernel past the end of the table.
// CHECK: npu-dedup-uops: @past: GEMM uses uops 0..2 past the table's 1
builtin.module {
  npu.program @past {
    npu.segment "uops" dram[0x100] size(8) : i8 layout "uop" scratch
    npu.uops dense<0> : tensor<1x3xi32>
    npu.load uop[0] <- dram[0x100] y(1) x(1) stride(1) : i8
    npu.gemm reset i8 uop[0:2] outer(1) inner(1)
    npu.finish
  }
}
