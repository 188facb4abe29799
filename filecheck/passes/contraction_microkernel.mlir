// RUN: terrace-opt %s -p contraction-microkernel --split-input-file | filecheck %s
// RUN: terrace-opt %s -p contraction-microkernel --weights %S/Inputs/contraction_weights.npz --split-input-file | filecheck %s --check-prefix=WEIGHTS
// RUN: terrace-opt %s -p 'contraction-microkernel{mr=4 nr-vectors=1 lanes=8 fuse-epilogue=false}' --split-input-file | filecheck %s --check-prefix=SMALL
// RUN: terrace-opt %s -p 'contraction-microkernel{mr=8 nr-vectors=3 lanes=4}' --split-input-file | filecheck %s --check-prefix=NEON
// RUN: terrace-opt %s -p 'contraction-microkernel{mr=6 nr-vectors=2 lanes=4 fma=false}' --split-input-file | filecheck %s --check-prefix=SIMD128
// RUN: terrace-opt %s -p 'contraction-microkernel{kc=16 mc=16 nc=32}' --split-input-file | filecheck %s --check-prefix=BLOCKED

// Gemm + bias + relu: the zero fill, the bias add and the relu fold into the 8x32 tiles,
// applied to the two vectors of a tile row joined in one (a shuffle); their buffers are
// gone and only A's packing buffer (panels of 8 rows) and B's panels are allocated. B is
// already a row-major [K][N] matrix with N a whole number of tiles: its rows are copied,
// vector by vector, into 2 panels [K][32] that the tiles' K loop reads contiguously (no
// im2col packing). No cache blocks (kc, mc, nc at 0): one K loop, one grid.

// CHECK-LABEL: func.func @gemm_bias_relu
// CHECK-SAME:  (%[[X:[^:]*]]: memref<64x48xf32>, %[[OUT:[^:]*]]: memref<64x64xf32>, %[[W:[^:]*]]: memref<48x64xf32>, %[[BIAS:[^:]*]]: memref<64xf32>
// CHECK:       memref.alloc() {alignment = 64 : i64} : memref<8x48x8xf32>
// CHECK-NEXT:  %[[BP:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x48x32xf32>
// CHECK-NOT:   memref.alloc
// CHECK:       memref.load %[[X]]
// CHECK-NOT:   memref.load %[[W]]
// CHECK:       "scf.parallel"
// CHECK:       %[[ROW:.*]] = vector.load %[[W]][%{{.*}}, %{{.*}}] : memref<48x64xf32>, vector<16xf32>
// CHECK:       vector.store %[[ROW]], %[[BP]][%{{.*}}, %{{.*}}, %{{.*}}] : memref<2x48x32xf32>, vector<16xf32>
// CHECK:       "scf.parallel"
// CHECK-NOT:   scf.if
// CHECK:       scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK-COUNT-2: vector.load %[[BP]][%{{.*}}, %{{.*}}, %{{.*}}] : memref<2x48x32xf32>, vector<16xf32>
// CHECK:       %[[A:.*]] = memref.load %{{.*}} : memref<8x48x8xf32>
// CHECK-NEXT:  %[[SPLAT:.*]] = vector.broadcast %[[A]] : f32 to vector<16xf32>
// CHECK-NEXT:  vector.fma %[[SPLAT]], %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK:       %[[ROW:.*]] = vector.shuffle %{{.*}}, %{{.*}} [0, 1, {{.*}}, 30, 31] : vector<16xf32>, vector<16xf32>
// CHECK:       %[[B:.*]] = vector.load %[[BIAS]][%{{.*}}] : memref<64xf32>, vector<32xf32>
// CHECK-NEXT:  %[[SUM:.*]] = arith.addf %[[ROW]], %[[B]] : vector<32xf32>
// CHECK:       %[[RELU:.*]] = arith.maximumf %[[SUM]], %{{.*}} : vector<32xf32>
// CHECK:       vector.store %[[RELU]], %[[OUT]][%{{.*}}, %{{.*}}] : memref<64x64xf32>, vector<32xf32>
// CHECK-NOT:   linalg.generic

// Without epilogue fusion, 4x8 tiles: the fill is still folded (the accumulators start at
// zero), the bias and relu generics stay and read the contraction's buffer.
// SMALL-LABEL: func.func @gemm_bias_relu
// SMALL:       memref.alloc() : memref<64x64xf32>
// SMALL:       memref.alloc() {alignment = 64 : i64} : memref<16x48x4xf32>
// SMALL-NEXT:  memref.alloc() {alignment = 64 : i64} : memref<8x48x8xf32>
// SMALL-NOT:   memref.alloc() {alignment = 64 : i64}
// SMALL:       scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// SMALL:       vector.store
// SMALL:       linalg.generic
// SMALL:       linalg.generic

// The 128-bit tile of AArch64 and RISC-V (8 x 3 vectors of 4): 24 accumulators, three loads
// of B per step; N = 64 is not a whole number of 12-column tiles, so B is padded to 72 columns
// and the tiles go through a staging buffer.
// NEON-LABEL: func.func @gemm_bias_relu
// NEON:       memref.alloc() {alignment = 64 : i64} : memref<8x48x8xf32>
// NEON-NEXT:  memref.alloc() {alignment = 64 : i64} : memref<48x72xf32>
// NEON-NEXT:  memref.alloc() {alignment = 64 : i64} : memref<64x72xf32>
// NEON:       scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// NEON-COUNT-3: vector.load %{{.*}} : memref<48x72xf32>, vector<4xf32>
// NEON:       vector.broadcast %{{.*}} : f32 to vector<4xf32>
// NEON-COUNT-3: vector.fma %{{.*}}, %{{.*}}, %{{.*}} : vector<4xf32>

// Cache blocks kc = 16, mc = 16, nc = 32 (BLIS's loops around the tiles): 2 N blocks of one
// 32-column panel, in each 3 K blocks of 16 steps, in each 4 M blocks of two 8-row panels;
// every block is one scf.parallel over its tiles. A tile starts from zero in the first K
// block and from the sums the previous block left in the output otherwise (the output is
// not read by the fused epilogue: it can hold them); the last K block applies the epilogue,
// the others store the sums as they are.
// BLOCKED-LABEL: func.func @gemm_bias_relu
// BLOCKED-SAME:  %[[OUT:[^:]*]]: memref<64x64xf32>, %[[W:[^:]*]]: memref<48x64xf32>
// BLOCKED:       %[[NB:.*]] = arith.constant 2 : index
// BLOCKED-NEXT:  arith.constant 1 : index
// BLOCKED-NEXT:  scf.for %[[JC:.*]] = %{{.*}} to %[[NB]]
// BLOCKED:       %[[KB:.*]] = arith.constant 3 : index
// BLOCKED-NEXT:  arith.constant 1 : index
// BLOCKED-NEXT:  scf.for %[[PC:.*]] = %{{.*}} to %[[KB]]
// BLOCKED:       %[[MB:.*]] = arith.constant 4 : index
// BLOCKED-NEXT:  arith.constant 1 : index
// BLOCKED-NEXT:  scf.for %[[IC:.*]] = %{{.*}} to %[[MB]]
// BLOCKED:       %[[K0:.*]] = affine.apply affine_map<(d0) -> ((d0 * 16))> (%[[PC]])
// BLOCKED:       %[[KLEFT:.*]] = affine.apply affine_map<(d0) -> (((d0 * -1) + 48))> (%[[K0]])
// BLOCKED:       %[[KN:.*]] = arith.minsi %[[KLEFT]], %{{.*}} : index
// BLOCKED:       "scf.parallel"
// BLOCKED:       %[[FIRST:.*]] = arith.cmpi eq, %[[PC]], %{{.*}} : index
// BLOCKED-NEXT:  scf.if %[[FIRST]] -> (vector<16xf32>
// BLOCKED:       } else {
// BLOCKED:       vector.load %[[OUT]][%{{.*}}, %{{.*}}] : memref<64x64xf32>, vector<16xf32>
// BLOCKED:       %[[KEND:.*]] = affine.apply affine_map<(d0, d1) -> ((d0 + d1))> (%[[K0]], %[[KN]])
// BLOCKED:       scf.for %{{.*}} = %[[K0]] to %[[KEND]]
// BLOCKED:       vector.fma
// BLOCKED:       %[[LAST:.*]] = arith.cmpi eq, %[[PC]], %{{.*}} : index
// BLOCKED-NEXT:  scf.if %[[LAST]] {
// BLOCKED:       arith.maximumf
// BLOCKED:       vector.store %{{.*}}, %[[OUT]]
// BLOCKED:       } else {
// BLOCKED-NOT:   arith.maximumf
// BLOCKED:       vector.store %{{.*}}, %[[OUT]]
// BLOCKED:       scf.reduce

// A vector unit without a fused multiply-add (WebAssembly simd128): multiply, then add.
// SIMD128-LABEL: func.func @gemm_bias_relu
// SIMD128:       vector.broadcast %{{.*}} : f32 to vector<4xf32>
// SIMD128-NEXT:  %[[PRODUCT:.*]] = arith.mulf %{{.*}}, %{{.*}} : vector<4xf32>
// SIMD128-NEXT:  arith.addf %{{.*}}, %[[PRODUCT]] : vector<4xf32>
// SIMD128-NOT:   vector.fma

#fill = affine_map<(d0, d1) -> ()>
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @gemm_bias_relu(%x: memref<64x48xf32>, %out: memref<64x64xf32>, %w: memref<48x64xf32>, %bias: memref<64xf32>) {
  %acc = memref.alloc() : memref<64x64xf32>
  %zero = arith.constant 0.000000e+00 : f32
  linalg.generic {indexing_maps = [#fill, #id], iterator_types = ["parallel", "parallel"]} ins(%zero : f32) outs(%acc : memref<64x64xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : memref<64x48xf32>, memref<48x64xf32>) outs(%acc : memref<64x64xf32>) {
  ^bb0(%l: f32, %r: f32, %s: f32):
    %p = arith.mulf %l, %r : f32
    %q = arith.addf %p, %s : f32
    linalg.yield %q : f32
  }
  %biased = memref.alloc() : memref<64x64xf32>
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%acc, %bias : memref<64x64xf32>, memref<64xf32>) outs(%biased : memref<64x64xf32>) {
  ^bb0(%v: f32, %bv: f32, %o: f32):
    %s = arith.addf %v, %bv : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%biased : memref<64x64xf32>) outs(%out : memref<64x64xf32>) {
  ^bb0(%v: f32, %o: f32):
    %z = arith.constant 0.000000e+00 : f32
    %r = arith.maximumf %v, %z : f32
    linalg.yield %r : f32
  }
  func.return
}

// -----

// A 3x3 convolution (NCHW): M = 8 output channels, N = the 6x6 output pixels (36 columns:
// a second, partial tile), K = 4 input channels x 3 x 3. The input is packed through its
// window map (implicit GEMM). Tiles overhang N, so they store their accumulators in a staging
// buffer; a copy-back loop adds the output's previous contents (no initializing op) and
// writes the 36 valid columns.

// CHECK-LABEL: func.func @conv
// CHECK:       memref.alloc() {alignment = 64 : i64} : memref<1x36x8xf32>
// CHECK-NEXT:  memref.alloc() {alignment = 64 : i64} : memref<36x64xf32>
// CHECK-NEXT:  %[[STAGING:.*]] = memref.alloc() {alignment = 64 : i64} : memref<8x64xf32>
// CHECK-NEXT:  %[[FLAT:.*]] = memref.collapse_shape %{{.*}} {{\[}}[0 : i64], [1 : i64], [2 : i64, 3 : i64]] : memref<1x8x6x6xf32> into memref<1x8x36xf32>
// CHECK:       affine.apply affine_map<(d0, d1, d2, d3, d4, d5, d6) -> ((d2 + d5))>
// CHECK:       "scf.parallel"
// CHECK:       vector.fma
// CHECK:       vector.store %{{.*}}, %[[STAGING]][%{{.*}}, %{{.*}}] : memref<8x64xf32>, vector<16xf32>
// CHECK:       "scf.parallel"
// CHECK:       %[[ACC:.*]] = memref.load %[[STAGING]]
// CHECK:       %[[OLD:.*]] = memref.load %[[FLAT]]
// CHECK-NEXT:  %[[SUM:.*]] = arith.addf %[[OLD]], %[[ACC]] : f32
// CHECK:       memref.store %[[SUM]], %[[FLAT]]
// CHECK-NOT:   vector.maskedstore

#in = affine_map<(n, f, y, x, c, ky, kx) -> (n, c, y + ky, x + kx)>
#ker = affine_map<(n, f, y, x, c, ky, kx) -> (f, c, ky, kx)>
#res = affine_map<(n, f, y, x, c, ky, kx) -> (n, f, y, x)>
func.func @conv(%input: memref<1x4x8x8xf32>, %kernel: memref<8x4x3x3xf32>, %out: memref<1x8x6x6xf32>) {
  linalg.generic {indexing_maps = [#in, #ker, #res], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%input, %kernel : memref<1x4x8x8xf32>, memref<8x4x3x3xf32>) outs(%out : memref<1x8x6x6xf32>) {
  ^bb0(%i: f32, %k: f32, %o: f32):
    %p = arith.mulf %i, %k : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  func.return
}

// -----

// Too little work (under min-work multiply-adds) and too few columns: left alone.

// CHECK-LABEL: func.func @small
// CHECK-NOT:   scf.parallel
// CHECK:       linalg.generic

#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @small(%x: memref<4x4xf32>, %w: memref<4x8xf32>, %out: memref<4x8xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : memref<4x4xf32>, memref<4x8xf32>) outs(%out : memref<4x8xf32>) {
  ^bb0(%l: f32, %r: f32, %s: f32):
    %p = arith.mulf %l, %r : f32
    %q = arith.addf %p, %s : f32
    linalg.yield %q : f32
  }
  func.return
}

// -----

// A weight of @main (named in terrace.weights, found in the store) is packed at compile time: a new weight
// argument holds its panels, the original is dropped, no packing loop reads it at run time.

// WEIGHTS-LABEL: func.func @packed_weight
// WEIGHTS-SAME:  (%[[X:[^:]*]]: memref<16x32xf32>, %[[OUT:[^:]*]]: memref<16x64xf32>, %[[PACKED:[^:]*]]: memref<2x32x32xf32>, %{{.*}}: memref<0xi8>)
// WEIGHTS-SAME:  terrace.weights = ["packed_rhs"]
// WEIGHTS-NOT:   memref.alloc() {alignment = 64 : i64} : memref<2x32x32xf32>
// WEIGHTS:       vector.load %[[PACKED]]

#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @packed_weight(%x: memref<16x32xf32>, %out: memref<16x64xf32>, %w: memref<32x64xf32>, %workspace: memref<0xi8>) attributes {terrace.num_inputs = 1 : i64, terrace.num_outputs = 1 : i64, terrace.weights = ["w"], terrace.workspace_bytes = 0 : i64} {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : memref<16x32xf32>, memref<32x64xf32>) outs(%out : memref<16x64xf32>) {
  ^bb0(%l: f32, %r: f32, %s: f32):
    %p = arith.mulf %l, %r : f32
    %q = arith.addf %p, %s : f32
    linalg.yield %q : f32
  }
  func.return
}

// -----

// A 1x1 convolution, batch 1 (its window loops of one iteration are 0): the input already is
// [1][K = 32 channels][N = 8x8 pixels], N a whole number of 32-column tiles, so its rows are
// read through a collapsed view (no im2col packing) and copied by vectors into B's 2 panels;
// the kernel (A) is packed. With K blocks (2 of 16), the output holds C's initial value until
// the end (no initializing op): the sums wait in a staging buffer and the copy-back adds the
// initial value.

// CHECK-LABEL: func.func @conv1x1
// CHECK-SAME:  (%[[INPUT:[^:]*]]: memref<1x32x8x8xf32>
// CHECK:       memref.alloc() {alignment = 64 : i64} : memref<1x32x8xf32>
// CHECK-NEXT:  %[[ROWS:.*]] = memref.collapse_shape %[[INPUT]] {{\[}}[0 : i64], [1 : i64], [2 : i64, 3 : i64]] : memref<1x32x8x8xf32> into memref<1x32x64xf32>
// CHECK-NEXT:  %[[BP:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x32x32xf32>
// CHECK-NOT:   memref.alloc
// CHECK-NOT:   memref.load %[[INPUT]]
// CHECK:       vector.load %[[ROWS]][%{{.*}}, %{{.*}}, %{{.*}}] : memref<1x32x64xf32>, vector<16xf32>
// CHECK:       vector.load %[[BP]][%{{.*}}, %{{.*}}, %{{.*}}] : memref<2x32x32xf32>, vector<16xf32>

// BLOCKED-LABEL: func.func @conv1x1
// BLOCKED:       %[[ROWS:.*]] = memref.collapse_shape
// BLOCKED-NEXT:  %[[BP:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x32x32xf32>
// BLOCKED-NEXT:  %[[STAGING:.*]] = memref.alloc() {alignment = 64 : i64} : memref<8x64xf32>
// BLOCKED:       vector.load %[[ROWS]]
// BLOCKED:       scf.if
// BLOCKED:       vector.load %[[STAGING]]
// BLOCKED:       vector.load %[[BP]]
// BLOCKED:       vector.store %{{.*}}, %[[STAGING]]
// BLOCKED-NOT:   scf.if
// BLOCKED:       %[[ACC:.*]] = memref.load %[[STAGING]]
// BLOCKED:       %[[OLD:.*]] = memref.load
// BLOCKED-NEXT:  arith.addf %[[OLD]], %[[ACC]] : f32

#in = affine_map<(n, f, y, x, c, ky, kx) -> (n, c, y + ky, x + kx)>
#ker = affine_map<(n, f, y, x, c, ky, kx) -> (f, c, ky, kx)>
#res = affine_map<(n, f, y, x, c, ky, kx) -> (n, f, y, x)>
func.func @conv1x1(%input: memref<1x32x8x8xf32>, %kernel: memref<8x32x1x1xf32>, %out: memref<1x8x8x8xf32>) {
  linalg.generic {indexing_maps = [#in, #ker, #res], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%input, %kernel : memref<1x32x8x8xf32>, memref<8x32x1x1xf32>) outs(%out : memref<1x8x8x8xf32>) {
  ^bb0(%i: f32, %k: f32, %o: f32):
    %p = arith.mulf %i, %k : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  func.return
}

// -----

// GELU (x/2 (1 + erf(x / sqrt 2))) after the bias: erf is applied to the accumulators'
// vectors in the epilogue like any other arithmetic (convert-math-to-llvm expands it in f32).
// CHECK-LABEL: func.func @gemm_bias_gelu
// CHECK:       vector.fma
// CHECK:       arith.addf %{{.*}}, %{{.*}} : vector<32xf32>
// CHECK:       %[[ERF:.*]] = math.erf %{{.*}} : vector<32xf32>
// CHECK:       arith.addf %{{.*}}, %[[ERF]] : vector<32xf32>
// CHECK:       vector.store
// CHECK-NOT:   linalg.generic

#fill = affine_map<(d0, d1) -> ()>
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @gemm_bias_gelu(%x: memref<16x48xf32>, %out: memref<16x64xf32>, %w: memref<48x64xf32>, %bias: memref<64xf32>) {
  %acc = memref.alloc() : memref<16x64xf32>
  %zero = arith.constant 0.000000e+00 : f32
  linalg.generic {indexing_maps = [#fill, #id], iterator_types = ["parallel", "parallel"]} ins(%zero : f32) outs(%acc : memref<16x64xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : memref<16x48xf32>, memref<48x64xf32>) outs(%acc : memref<16x64xf32>) {
  ^bb0(%l: f32, %r: f32, %s: f32):
    %p = arith.mulf %l, %r : f32
    %q = arith.addf %p, %s : f32
    linalg.yield %q : f32
  }
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%acc, %bias : memref<16x64xf32>, memref<64xf32>) outs(%out : memref<16x64xf32>) {
  ^bb0(%v: f32, %bv: f32, %o: f32):
    %s = arith.addf %v, %bv : f32
    %c = arith.constant 0.707106769 : f32
    %scaled = arith.mulf %s, %c : f32
    %e = math.erf %scaled : f32
    %one = arith.constant 1.000000e+00 : f32
    %sum = arith.addf %one, %e : f32
    %half = arith.constant 5.000000e-01 : f32
    %h = arith.mulf %s, %half : f32
    %g = arith.mulf %h, %sum : f32
    linalg.yield %g : f32
  }
  func.return
}
