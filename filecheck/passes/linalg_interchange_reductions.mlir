// RUN: terrace-opt %s -p linalg-interchange-reductions --split-input-file | filecheck %s

// Max pooling (n, c, y, x, ky, kx) with a stride of 2 (the window operand only gives the
// window's shape): x moves inside the window loops; the maps follow.

// CHECK-LABEL: func.func @pool
// CHECK:       linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, ((d2 * 2) + d3), ((d5 * 2) + d4))>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d4)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d5)>], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "parallel"]}
#in = affine_map<(n, c, y, x, ky, kx) -> (n, c, y * 2 + ky, x * 2 + kx)>
#window = affine_map<(n, c, y, x, ky, kx) -> (ky, kx)>
#out = affine_map<(n, c, y, x, ky, kx) -> (n, c, y, x)>
func.func @pool(%a: memref<1x4x11x11xf32>, %w: memref<3x3xf32>, %b: memref<1x4x5x5xf32>) {
  linalg.generic {indexing_maps = [#in, #window, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%a, %w : memref<1x4x11x11xf32>, memref<3x3xf32>) outs(%b : memref<1x4x5x5xf32>) {
  ^bb0(%v: f32, %unused: f32, %acc: f32):
    %m = arith.maximumf %v, %acc : f32
    linalg.yield %m : f32
  }
  func.return
}

// -----

// A sum over the last axis stays as it is: its output's innermost dim (d0) is not the
// innermost index of the input, so moving it inside would only stride through memory.

// CHECK-LABEL: func.func @row_sum
// CHECK:       iterator_types = ["parallel", "reduction"]
func.func @row_sum(%a: memref<8x16xf32>, %b: memref<8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%a : memref<8x16xf32>) outs(%b : memref<8xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %v, %acc : f32
    linalg.yield %s : f32
  }
  func.return
}

// -----

// A matmul (m, n, k) becomes (m, k, n).

// CHECK-LABEL: func.func @matmul
// CHECK:       indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]
func.func @matmul(%a: memref<4x3xf32>, %b: memref<3x5xf32>, %c: memref<4x5xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %b : memref<4x3xf32>, memref<3x5xf32>) outs(%c : memref<4x5xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  func.return
}
