// RUN: terrace-opt %s -p linalg-collapse-dimensions --split-input-file | filecheck %s

// A SiLU-like body over NCHW: every operand walks all four dimensions contiguously, so the
// nest becomes one loop over 1*16*7*7 elements.

// CHECK-LABEL: func.func @same_shape
// CHECK:       %[[A:.*]] = memref.collapse_shape %a {{\[}}[0 : i64, 1 : i64, 2 : i64, 3 : i64]] : memref<1x16x7x7xf32> into memref<784xf32>
// CHECK-NEXT:  %[[B:.*]] = memref.collapse_shape %b {{\[}}[0 : i64, 1 : i64, 2 : i64, 3 : i64]] : memref<1x16x7x7xf32> into memref<784xf32>
// CHECK-NEXT:  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%[[A]] : memref<784xf32>) outs(%[[B]] : memref<784xf32>)
// CHECK:       arith.mulf
func.func @same_shape(%a: memref<1x16x7x7xf32>, %b: memref<1x16x7x7xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%a : memref<1x16x7x7xf32>) outs(%b : memref<1x16x7x7xf32>) {
  ^bb0(%x: f32, %o: f32):
    %m = arith.mulf %x, %x : f32
    linalg.yield %m : f32
  }
  func.return
}

// -----

// A per-channel scale (squeeze-and-excitation) reads (d0, d1, 0, 0): H and W merge, and N
// (of size 1) joins C; the scale becomes a vector of C.

// CHECK-LABEL: func.func @channel_broadcast
// CHECK:       %[[A:.*]] = memref.collapse_shape %a {{\[}}[0 : i64, 1 : i64], [2 : i64, 3 : i64]] : memref<1x16x7x7xf32> into memref<16x49xf32>
// CHECK-NEXT:  %[[S:.*]] = memref.collapse_shape %s {{\[}}[0 : i64, 1 : i64, 2 : i64, 3 : i64]] : memref<1x16x1x1xf32> into memref<16xf32>
// CHECK-NEXT:  %[[B:.*]] = memref.collapse_shape %b {{\[}}[0 : i64, 1 : i64], [2 : i64, 3 : i64]] : memref<1x16x7x7xf32> into memref<16x49xf32>
// CHECK-NEXT:  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[A]], %[[S]] : memref<16x49xf32>, memref<16xf32>) outs(%[[B]] : memref<16x49xf32>)
func.func @channel_broadcast(%a: memref<1x16x7x7xf32>, %s: memref<1x16x1x1xf32>, %b: memref<1x16x7x7xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, 0)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%a, %s : memref<1x16x7x7xf32>, memref<1x16x1x1xf32>) outs(%b : memref<1x16x7x7xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %m = arith.mulf %x, %y : f32
    linalg.yield %m : f32
  }
  func.return
}

// -----

// A bias of the trailing dimension, broadcast over rows (read as (d1)): the rows and columns
// are walked apart by the bias, so nothing merges.

// CHECK-LABEL: func.func @row_broadcast
// CHECK-NOT:   memref.collapse_shape
// CHECK:       iterator_types = ["parallel", "parallel"]
func.func @row_broadcast(%a: memref<8x16xf32>, %bias: memref<16xf32>, %b: memref<8x16xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%a, %bias : memref<8x16xf32>, memref<16xf32>) outs(%b : memref<8x16xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %m = arith.addf %x, %y : f32
    linalg.yield %m : f32
  }
  func.return
}

// -----

// A transposing copy reads (d1, d0): left alone, as are reductions.

// CHECK-LABEL: func.func @transpose_and_reduction
// CHECK-NOT:   memref.collapse_shape
// CHECK:       iterator_types = ["parallel", "parallel"]
// CHECK:       iterator_types = ["parallel", "parallel", "reduction"]
func.func @transpose_and_reduction(%a: memref<4x8xf32>, %b: memref<8x4xf32>, %c: memref<2x3x5xf32>, %d: memref<2x3xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%a : memref<4x8xf32>) outs(%b : memref<8x4xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%c : memref<2x3x5xf32>) outs(%d : memref<2x3xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %x, %acc : f32
    linalg.yield %s : f32
  }
  func.return
}
