// RUN: terrace-opt %s -p convert-nn-to-linalg --split-input-file | filecheck %s

// The indices leave the new axis (d0) out of their map; off and on are read at 0 and 1.
// CHECK-LABEL: func.func @one_hot
// CHECK-SAME:    (%[[I:.*]]: tensor<3xi32>, %[[V:.*]]: tensor<2xf32>)
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (0)>, affine_map<(d0, d1) -> (1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME:      ins(%[[I]], %[[V]], %[[V]] : tensor<3xi32>, tensor<2xf32>, tensor<2xf32>)
// CHECK:           arith.extsi %{{.*}} : i32 to i64
// CHECK:           linalg.index 0 : index
// CHECK:           arith.select
func.func @one_hot(%i: tensor<3xi32>, %v: tensor<2xf32>) -> tensor<4x3xf32> {
  %r = nn.one_hot %i, %v {depth = 4 : i64, axis = 0 : i64} : (tensor<3xi32>, tensor<2xf32>) -> tensor<4x3xf32>
  func.return %r : tensor<4x3xf32>
}
