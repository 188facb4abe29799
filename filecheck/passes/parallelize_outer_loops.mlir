// RUN: terrace-opt %s -p parallelize-outer-loops --split-input-file | filecheck %s
// RUN: terrace-opt %s -p 'parallelize-outer-loops{min_iterations=64 min_parallel_iterations=4}' --split-input-file | filecheck %s --check-prefix=SMALL

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// 1 x 64 parallel iterations reach 64: the first two dimensions form the scf.parallel, the
// third stays an inner scf.for.

// CHECK-LABEL: func.func @elementwise
// CHECK-NOT: linalg.generic
// CHECK: %[[C1:.*]] = arith.constant 1 : index
// CHECK: %[[C64:.*]] = arith.constant 64 : index
// CHECK: %[[C1024:.*]] = arith.constant 1024 : index
// CHECK: %[[ZERO:.*]] = arith.constant 0 : index
// CHECK: %[[ONE:.*]] = arith.constant 1 : index
// CHECK: "scf.parallel"(%[[ZERO]], %[[ZERO]], %[[C1]], %[[C64]], %[[ONE]], %[[ONE]])
// CHECK-NEXT: ^{{.*}}(%[[I:.*]]: index, %[[J:.*]]: index):
// CHECK-NEXT: scf.for %[[K:.*]] = %[[ZERO]] to %[[C1024]] step %[[ONE]] {
// CHECK-NEXT: memref.load %{{.*}}[%[[I]], %[[J]], %[[K]]]
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[I]], %[[J]], %[[K]]]
// CHECK-NEXT: }
// CHECK-NEXT: scf.reduce
func.func @elementwise(%x: memref<1x64x1024xf32>, %out: memref<1x64x1024xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : memref<1x64x1024xf32>) outs(%out : memref<1x64x1024xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %a : f32
    linalg.yield %s : f32
  }
  func.return
}

// -----

#in = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d1)>

// A reduction dimension ends the parallel prefix: it stays a sequential loop inside.

// CHECK-LABEL: func.func @row_sums
// CHECK: "scf.parallel"
// CHECK-NEXT: ^{{.*}}(%[[I:.*]]: index, %[[J:.*]]: index):
// CHECK-NEXT: scf.for %[[K:.*]] =
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[I]], %[[J]]]
// SMALL-LABEL: func.func @row_sums
// SMALL: "scf.parallel"
// SMALL-NEXT: ^{{.*}}(%[[I:.*]]: index):
// SMALL-NEXT: scf.for
// SMALL-NEXT: scf.for
func.func @row_sums(%x: memref<4x64x1024xf32>, %out: memref<4x64xf32>) {
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : memref<4x64x1024xf32>) outs(%out : memref<4x64xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  func.return
}

// -----

#in = affine_map<(d0, d1) -> (d0, d1)>
#out = affine_map<(d0, d1) -> (d1)>

// A reduction as the first iterator leaves nothing to parallelize; so does a "parallel"
// dimension that does not index the output (its iterations would write the same elements).

// CHECK-LABEL: func.func @column_sums
// CHECK-NOT: scf.parallel
// CHECK: linalg.generic
// CHECK-LABEL: func.func @not_in_output
// CHECK-NOT: scf.parallel
// CHECK: linalg.generic
func.func @column_sums(%x: memref<1024x64xf32>, %out: memref<64xf32>) {
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["reduction", "parallel"]} ins(%x : memref<1024x64xf32>) outs(%out : memref<64xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  func.return
}
func.func @not_in_output(%x: memref<1024x64xf32>, %out: memref<64xf32>) {
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "parallel"]} ins(%x : memref<1024x64xf32>) outs(%out : memref<64xf32>) {
  ^bb0(%a: f32, %b: f32):
    linalg.yield %a : f32
  }
  func.return
}

// -----

// Below min_iterations (2**15 by default) a fill stays for convert-linalg-to-loops; with the
// threshold at 64 it runs in parallel.

// CHECK-LABEL: func.func @small_fill
// CHECK-NOT: scf.parallel
// CHECK: linalg.fill
// SMALL-LABEL: func.func @small_fill
// SMALL: "scf.parallel"
// SMALL-NOT: linalg.fill
func.func @small_fill(%out: memref<16x16xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%out : memref<16x16xf32>)
  func.return
}

// -----

// A squeeze-and-excitation scale, (32, 12544) * (32) broadcast: 32 rows do not reach 64, but
// the innermost dimension never joins the scf.parallel, so the columns stay one contiguous
// scf.for that LLVM vectorizes (a collapsed nest is indexed by a division and a remainder).

// CHECK-LABEL: func.func @broadcast_scale
// CHECK: "scf.parallel"
// CHECK-NEXT: ^{{.*}}(%[[I:[^:]*]]: index):
// CHECK-NEXT: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT: memref.load %{{.*}}[%[[I]], %[[J]]]
// CHECK-NEXT: memref.load %{{.*}}[%[[I]]]
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[I]], %[[J]]]
#rows = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @broadcast_scale(%x: memref<32x12544xf32>, %gate: memref<32xf32>, %out: memref<32x12544xf32>) {
  linalg.generic {indexing_maps = [#rows, #row, #rows], iterator_types = ["parallel", "parallel"]} ins(%x, %gate : memref<32x12544xf32>, memref<32xf32>) outs(%out : memref<32x12544xf32>) {
  ^bb0(%a: f32, %g: f32, %o: f32):
    %s = arith.mulf %a, %g : f32
    linalg.yield %s : f32
  }
  func.return
}
