// RUN: terrace-opt %s -p 'apply-tuning{cpu=znver4}' | filecheck %s
// RUN: terrace-opt %s -p apply-tuning | filecheck %s --check-prefix=TWO-PIPES
// RUN: terrace-opt %s -p 'apply-tuning{lanes=8 vector-registers=16}' | filecheck %s --check-prefix=AVX2
// RUN: terrace-opt %s -p 'apply-tuning{config="6,2,8,nm"}' | filecheck %s --check-prefix=FORCED
// RUN: terrace-opt %s -p 'apply-tuning{db="%S/Inputs/apply_tuning.jsonl" target-fp="sha256:test-target"}' | filecheck %s --check-prefix=DB
// RUN: terrace-opt %s -p 'apply-tuning{cpu=znver4 db="%S/Inputs/apply_tuning.jsonl" target-fp="sha256:unknown"}' | filecheck %s
// RUN: terrace-opt %s -p 'apply-tuning{config="6,4,16,nm"},contraction-microkernel' | filecheck %s --check-prefix=TILES
// RUN: terrace-opt %s -p 'apply-tuning{cpu=znver4 l1d-bytes=1024 l2-bytes=2048}' | filecheck %s --check-prefix=SMALL-L1
// RUN: terrace-opt %s -p 'apply-tuning{config="6,4,16,mn,16,0,32"}' | filecheck %s --check-prefix=BLOCKS

// The analytical default for Zen 4 (32 registers of 16 lanes, one 512-bit FMA a cycle):
// 6 rows x 4 vectors (AMD BLIS's kernel), 64 columns exactly. The fill before the contraction
// gets no config: it is not a contraction. B (%w, not a weight of @main here) is read as rows,
// so its block streams from L2: the 6 x 48 A panel fits half of L1 (kc all of K), the 48 x 64
// B block half of L2 (mc and nc are M and N rounded up to whole tiles).
// CHECK-LABEL: func.func @gemm_bias_relu
// CHECK-NOT:   terrace.config
// CHECK:       linalg.generic {{.*}} ins(%x, %w
// CHECK-SAME:  terrace.config = {mr = 6 : i64, nr_vectors = 4 : i64, lanes = 16 : i64, order = "mn", kc = 48 : i64, mc = 66 : i64, nc = 64 : i64, source = "analytical", key = "sha256:53712766047a61b96c322acded972c2745334dd73c7679298ed07c14aa1c5c24"}
// CHECK-NOT:   terrace.config

// The generic unit has two FMA pipes (as Skylake-X): 6 x 64 would stream 256 bytes of B rows
// per 12-cycle K step, more than the 12 bytes a cycle a stream of rows gets, and 13 x 2 vectors
// (128 bytes per 13 cycles) wins; 16 registers of 8 lanes: 4 x 3 vectors has the most
// multiply-adds per load but streams 16 bytes a cycle, and 6 x 2 (BLIS's Haswell kernel) wins.
// TWO-PIPES:   terrace.config = {mr = 13 : i64, nr_vectors = 2 : i64, lanes = 16 : i64, order = "mn", kc = 48 : i64, mc = 65 : i64, nc = 64 : i64, source = "analytical"
// AVX2:        terrace.config = {mr = 6 : i64, nr_vectors = 2 : i64, lanes = 8 : i64, order = "mn", kc = 48 : i64, mc = 66 : i64, nc = 64 : i64, source = "analytical"

// FORCED:      terrace.config = {mr = 6 : i64, nr_vectors = 2 : i64, lanes = 8 : i64, order = "nm", kc = 48 : i64, mc = 66 : i64, nc = 64 : i64, source = "forced"

// A 1 KiB L1 and a 2 KiB L2: B streams from L2, so half of L1 sets kc: 6 x 21 floats, 16 (a
// multiple of 8), which splits K = 48 into 3 equal blocks.
// SMALL-L1:    terrace.config = {mr = 6 : i64, nr_vectors = 4 : i64, lanes = 16 : i64, order = "mn", kc = 16 : i64, mc = 66 : i64, nc = 64 : i64, source = "analytical"

// Blocks a config gives are kept; the ones it leaves at 0 are the analytical ones.
// BLOCKS:      terrace.config = {mr = 6 : i64, nr_vectors = 4 : i64, lanes = 16 : i64, order = "mn", kc = 16 : i64, mc = 66 : i64, nc = 32 : i64, source = "forced"

// The fastest validated record of this target wins; the faster wrong-result record and the
// other machine's record are not applied (with an unknown fingerprint: the default above).
// DB:          terrace.config = {mr = 4 : i64, nr_vectors = 2 : i64, lanes = 16 : i64, order = "nm", kc = 48 : i64, mc = 64 : i64, nc = 64 : i64, source = "record"

// The micro-kernel reads the config: A packed in panels of 6 rows (11 panels for 64 rows),
// 24 accumulators, and with `nm` the tile grid is (1 B panel) x (11 A panels).
// TILES-LABEL: func.func @gemm_bias_relu
// TILES:       memref.alloc() {alignment = 64 : i64} : memref<11x48x6xf32>
// TILES:       %[[ELEVEN:.*]] = arith.constant 11 : index
// TILES:       "scf.parallel"(%{{.*}}, %{{.*}}, %{{.*}}, %[[ELEVEN]], %{{.*}}, %{{.*}})
// TILES-NEXT:  ^bb0(%{{.*}}: index, %[[PANEL_M:.*]]: index):
// TILES-NEXT:  %[[M:.*]] = affine.apply affine_map<(d0, d1) -> ((d0 + d1))> (%{{.*}}, %[[PANEL_M]])
// TILES-NEXT:  affine.apply
// TILES-NEXT:  affine.apply affine_map<(d0) -> ((d0 * 6))> (%[[M]])
// TILES:       scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)

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

// Light resnet50's 3x3 convolution at 56 x 56 in GEMM form: B (an activation, its im2col rows)
// is read as rows, `nr` floats at a stride of 3136 per K step: its block streams from L2, where
// every A panel passes over it (from L3 it would be 2 blocks of 1600 or 1584 columns, each
// read once per A panel). Zen 4's 6 x 64: 512 KiB / (576 x 4 bytes) = 227
// columns, 192 in whole tiles, 17 equal blocks of 192; AVX2's 6 x 16: 224, 14 blocks of 224.
// The 6 x 576 A panel (13.5 KiB) fits half of L1: K stays whole.
// CHECK-LABEL: func.func @rows_a_page_apart
// CHECK:       terrace.config = {mr = 6 : i64, nr_vectors = 4 : i64, lanes = 16 : i64, order = "mn", kc = 576 : i64, mc = 66 : i64, nc = 192 : i64, source = "analytical"
// AVX2-LABEL:  func.func @rows_a_page_apart
// AVX2:        terrace.config = {mr = 6 : i64, nr_vectors = 2 : i64, lanes = 8 : i64, order = "mn", kc = 576 : i64, mc = 66 : i64, nc = 224 : i64, source = "analytical"
func.func @rows_a_page_apart(%x: memref<64x576xf32>, %cols: memref<576x3136xf32>, %out: memref<64x3136xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %cols : memref<64x576xf32>, memref<576x3136xf32>) outs(%out : memref<64x3136xf32>) {
  ^bb0(%l: f32, %r: f32, %s: f32):
    %p = arith.mulf %l, %r : f32
    %q = arith.addf %p, %s : f32
    linalg.yield %q : f32
  }
  func.return
}
