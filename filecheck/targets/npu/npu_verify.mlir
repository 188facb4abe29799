// npu-verify: the checks of a whole npu.program; each case breaks one and the error names
// the program and what is wrong. A program that passes is printed unchanged.

// RUN: terrace-opt %s --split-input-file --verify-diagnostics -p npu-verify | filecheck %s
// RUN: terrace-opt %s --split-input-file --verify-diagnostics -p 'npu-verify{tiny=true}' | filecheck %s --check-prefix=TINY

// Balanced tokens that wait on each other: the load waits for the GEMM's token, which the
// GEMM pushes only after the load's token arrived.
// CHECK:      npu-verify: @deadlock: {{.*}}deadlock: no module can start its next instruction
// CHECK-NEXT:   load: head instruction 1 (LOAD) waits for a token on C->L
// CHECK-NEXT:   compute: head instruction 2 (GEMM) waits for a token on L->C
builtin.module {
  npu.program @deadlock {
    npu.uops dense<0> : tensor<1x3xi32>
    npu.load uop[0] <- dram[0x0] y(1) x(1) stride(1) : i8
    npu.load inp[0] <- dram[0x100] y(1) x(1) stride(1) : i8 {pop_next, push_next}
    npu.gemm i8 uop[0:1] outer(1) inner(1) {pop_prev, push_prev}
    npu.finish
  }
}

// -----

// A token pushed and never popped would be left in its FIFO for the next launch.
// CHECK: npu-verify: @unbalanced: token imbalance (pushes minus pops per FIFO): {'L->C': 1}
builtin.module {
  npu.program @unbalanced {
    npu.load inp[0] <- dram[0x100] y(1) x(1) stride(1) : i8 {push_next}
    npu.finish
  }
}

// -----

// CHECK: npu-verify: @finish_early: instruction 0: FINISH before the end of the program
builtin.module {
  npu.program @finish_early {
    npu.finish
    npu.load inp[0] <- dram[0x100] y(1) x(1) stride(1) : i8
  }
}

// -----

// The uop's ACC row 20000 plus the loop's reach is past ACC's 16,384 rows.
// CHECK: npu-verify: @acc_overflow: instruction 1 (GEMM): acc rows up to 20000 past the buffer
builtin.module {
  npu.program @acc_overflow {
    npu.uops dense<[[20000, 0, 0]]> : tensor<1x3xi32>
    npu.load uop[0] <- dram[0x0] y(1) x(1) stride(1) : i8
    npu.gemm reset i8 uop[0:1] outer(1) inner(1)
    npu.finish
  }
}

// -----

// 2 x 300 rows of 16 bytes fit the default 64 KiB INP (4,096 rows), not the tiny 8 KiB (512).
// CHECK-LABEL: npu.program @fits_default_only
// TINY:        npu-verify: @fits_default_only: instruction 0 (LOAD): INP rows 0..599 exceed the 512 rows
builtin.module {
  npu.program @fits_default_only {
    npu.load inp[0] <- dram[0x0] y(2) x(300) stride(300) : i8
    npu.finish
  }
}
