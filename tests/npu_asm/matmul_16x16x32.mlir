// C (16 x 16, int32) = A (16 x 32, int8) @ B (32 x 16, int8), written by hand.
//
// INP row kb*16 + m holds A[m, 16kb : 16kb+16]  (A in DRAM as [kb][m][16], 512 bytes at 0x100)
// WGT block kb holds B[16kb : 16kb+16, :]^T    (16 n x 16 k: acc[n] += inp . wgt[n])
// ACC row m is C[m, :]                          (STORE ACC: 16 rows of 16 int32 at 0x800)
//
// uop kb = (dst 0, src 16kb, wgt kb); the GEMM runs both uops for each of the 16 rows m
// (inner loop: dst +1, src +1), so ACC[m] = A[m, 0:16] B[0:16, :] + A[m, 16:32] B[16:32, :].
// The reset GEMM zeroes ACC rows 0..15 first (uop 0's dst, 16 rows).
// Tokens: the GEMM waits for the WGT load (the INP load before it is earlier in the same
// queue), the store waits for the GEMM, FINISH for the store.
npu.program @matmul_16x16x32 {
  npu.segment "uops" dram[0x0] size(16) : i8 layout "uop" scratch
  npu.segment "a" dram[0x100] size(512) : i8 layout "K16MK" input
  npu.segment "b" dram[0x400] size(512) : i8 layout "K16NK" weight
  npu.segment "c" dram[0x800] size(1024) : i32 layout "MN" output
  npu.uops dense<[[0, 0, 0], [0, 16, 1]]> : tensor<2x3xi32>
  npu.load uop[0] <- dram[0x0] y(1) x(2) stride(2) : i8
  npu.load inp[0] <- dram[0x100] y(1) x(32) stride(32) : i8
  npu.load wgt[0] <- dram[0x400] y(1) x(2) stride(2) : i8 {push_next}
  npu.gemm reset i8 uop[0:1] outer(1) inner(16, dst=1)
  npu.gemm i8 uop[0:2] outer(1) inner(16, dst=1, src=1) {pop_prev, push_next}
  npu.store acc[0] -> dram[0x800] y(1) x(16) stride(16) : i32 {pop_prev, push_prev}
  npu.finish {pop_next}
}
