// One 3x3 convolution tile in f32, written by hand: 16 -> 16 channels, a 4x4 input with
// padding 1 on every side, so a 4x4 output (stride 1).
//
// INP rows y*6 + x hold the 6x6 padded input pixel (y, x) (LOAD pads: zero rows around the
// 4x4 pixels read from DRAM, NCHW16c: 16 rows of 64 bytes at 0x1000).
// WGT block dy*3 + dx holds W[:, :, dy, dx] (16 o x 16 i, 9 blocks of 1 KiB at 0x2000).
// ACC row oy*4 + ox is the output pixel (oy, ox).
//
// uop (dy, dx) = (dst 0, src dy*6 + dx, wgt dy*3 + dx); the loops walk output rows
// (outer: dst +4, src +6, one padded input row) and columns (inner: dst +1, src +1), so
// ACC[oy*4 + ox] = sum over (dy, dx) of W[:, :, dy, dx] . INP[(oy + dy)*6 + ox + dx].
npu.program @conv3x3_tile {
  npu.segment "uops" dram[0x0] size(72) : i8 layout "uop" scratch
  npu.segment "x" dram[0x1000] size(1024) : f32 layout "NCHW16c" input
  npu.segment "w" dram[0x2000] size(9216) : f32 layout "OIHW16o16i" weight
  npu.segment "y" dram[0x5000] size(1024) : f32 layout "NCHW16c" output
  npu.uops dense<[[0, 0, 0], [0, 1, 1], [0, 2, 2], [0, 6, 3], [0, 7, 4], [0, 8, 5], [0, 12, 6], [0, 13, 7], [0, 14, 8]]> : tensor<9x3xi32>
  npu.load uop[0] <- dram[0x0] y(1) x(9) stride(9) : i8
  npu.load inp[0] <- dram[0x1000] y(4) x(4) stride(4) pad(1, 1, 1, 1) : f32
  npu.load wgt[0] <- dram[0x2000] y(1) x(9) stride(9) : f32 {push_next}
  npu.gemm reset f32 uop[0:1] outer(4, dst=4) inner(4, dst=1)
  npu.gemm f32 uop[0:9] outer(4, dst=4, src=6) inner(4, dst=1, src=1) {pop_prev, push_next}
  npu.store acc[0] -> dram[0x5000] y(1) x(16) stride(16) : f32 {pop_prev, push_prev}
  npu.finish {pop_next}
}
