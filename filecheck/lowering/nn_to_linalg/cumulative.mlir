// RUN: terrace-opt %s -p convert-nn-to-linalg --split-input-file | filecheck %s

// One scan: the axis is a reduction loop, the running sums (one per row) an output whose map
// leaves it out, the result an output whose map keeps it.
// CHECK-LABEL: func.func @cum_sum
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[RUNNING:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<2xf32>)
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "reduction"]}
// CHECK-SAME:      outs(%[[RUNNING]], %{{.*}} : tensor<2xf32>, tensor<2x3xf32>)
// CHECK:           %[[SUM:.*]] = arith.addf
// CHECK:           linalg.yield %[[SUM]], %[[SUM]] : f32, f32
func.func @cum_sum(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %r = nn.cum_sum %x {axis = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %r : tensor<2x3xf32>
}

// -----

// exclusive stores the running product before the element; reverse flips the axis around the
// scan; f16 runs in f32.
// CHECK-LABEL: func.func @cum_prod_reverse_exclusive
// CHECK:         %[[FLIPPED:.*]] = linalg.generic {indexing_maps = [affine_map<(d0) -> (((d0 * -1) + 3))>, affine_map<(d0) -> (d0)>]
// CHECK:         linalg.generic {{.*}} ins(%[[FLIPPED]] : tensor<4xf16>) outs(%{{.*}}, %{{.*}} : tensor<f32>, tensor<4xf16>)
// CHECK-NEXT:    ^{{.*}}(%[[X:.*]]: f16, %[[ACC:.*]]: f32, %{{.*}}: f16):
// CHECK:           %[[PRODUCT:.*]] = arith.mulf %[[ACC]], %{{.*}} : f32
// CHECK:           %[[OLD:.*]] = arith.truncf %[[ACC]] : f32 to f16
// CHECK:           linalg.yield %[[PRODUCT]], %[[OLD]] : f32, f16
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0) -> (((d0 * -1) + 3))>, affine_map<(d0) -> (d0)>]
func.func @cum_prod_reverse_exclusive(%x: tensor<4xf16>) -> tensor<4xf16> {
  %r = nn.cum_prod %x {axis = 0 : i64, exclusive = 1 : i64, reverse = 1 : i64} : (tensor<4xf16>) -> tensor<4xf16>
  func.return %r : tensor<4xf16>
}
