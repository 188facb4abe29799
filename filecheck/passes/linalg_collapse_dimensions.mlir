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

// A transposing copy reads (d1, d0): left alone.

// CHECK-LABEL: func.func @transpose
// CHECK-NOT:   memref.collapse_shape
// CHECK:       iterator_types = ["parallel", "parallel"]
func.func @transpose(%a: memref<4x8xf32>, %b: memref<8x4xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%a : memref<4x8xf32>) outs(%b : memref<8x4xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  func.return
}

// -----

// A global average pool's sum: N (of size 1) joins C, H and W (both reductions) merge into
// one reduction over 49 contiguous elements; a parallel and a reduction never merge.

// CHECK-LABEL: func.func @spatial_sum
// CHECK:       %[[X:.*]] = memref.collapse_shape %x {{\[}}[0 : i64, 1 : i64], [2 : i64, 3 : i64]] : memref<1x8x7x7xf32> into memref<8x49xf32>
// CHECK-NEXT:  %[[S:.*]] = memref.collapse_shape %s {{\[}}[0 : i64, 1 : i64, 2 : i64, 3 : i64]] : memref<1x8x1x1xf32> into memref<8xf32>
// CHECK-NEXT:  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%[[X]] : memref<8x49xf32>) outs(%[[S]] : memref<8xf32>)
func.func @spatial_sum(%x: memref<1x8x7x7xf32>, %s: memref<1x8x1x1xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, 0)>], iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%x : memref<1x8x7x7xf32>) outs(%s : memref<1x8x1x1xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %sum = arith.addf %v, %acc : f32
    linalg.yield %sum : f32
  }
  func.return
}

// -----

// A sum over the middle dimension: (d0) and (d1, d2) would merge by the input, but the
// output reads d0 and d2 apart, and d1 is a reduction: nothing merges.

// CHECK-LABEL: func.func @middle_sum
// CHECK-NOT:   memref.collapse_shape
// CHECK:       iterator_types = ["parallel", "reduction", "parallel"]
func.func @middle_sum(%x: memref<2x3x5xf32>, %s: memref<2x5xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%x : memref<2x3x5xf32>) outs(%s : memref<2x5xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %sum = arith.addf %v, %acc : f32
    linalg.yield %sum : f32
  }
  func.return
}

// -----

// A fill (a scalar read through () -> ()) of a padded NCHW buffer: one loop over all of it.

// CHECK-LABEL: func.func @scalar_fill
// CHECK:       %[[B:.*]] = memref.collapse_shape %b {{\[}}[0 : i64, 1 : i64, 2 : i64, 3 : i64]] : memref<1x4x9x9xf32> into memref<324xf32>
// CHECK-NEXT:  linalg.generic {indexing_maps = [affine_map<(d0) -> ()>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%zero : f32) outs(%[[B]] : memref<324xf32>)
func.func @scalar_fill(%b: memref<1x4x9x9xf32>) {
  %zero = arith.constant 0.000000e+00 : f32
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> ()>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%zero : f32) outs(%b : memref<1x4x9x9xf32>) {
  ^bb0(%z: f32, %o: f32):
    linalg.yield %z : f32
  }
  func.return
}
