// RUN: terrace-opt %s -p convert-nn-to-linalg --split-input-file | filecheck %s

// The accumulator is a copy of the data; loops: output dims (parallel), update positions
// (reduction); where the update targets the output position it is combined, else kept.
// CHECK-LABEL: func.func @scatter_elements_add
// CHECK-SAME:    (%[[DATA:.*]]: tensor<3x4xf32>, %[[IDX:.*]]: tensor<2x4xi64>, %[[UPD:.*]]: tensor<2x4xf32>)
// CHECK:         %[[COPY:.*]] = linalg.generic {{.*}} ins(%[[DATA]] : tensor<3x4xf32>)
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
// CHECK-SAME:      ins(%[[IDX]], %[[UPD]] : tensor<2x4xi64>, tensor<2x4xf32>) outs(%[[COPY]] : tensor<3x4xf32>)
// CHECK:           %[[SUM:.*]] = arith.addf
// CHECK:           arith.select %{{.*}}, %[[SUM]], %{{.*}} : f32
func.func @scatter_elements_add(%data: tensor<3x4xf32>, %idx: tensor<2x4xi64>, %upd: tensor<2x4xf32>) -> tensor<3x4xf32> {
  %r = nn.scatter_elements %data, %idx, %upd {reduction = "add"} : (tensor<3x4xf32>, tensor<2x4xi64>, tensor<2x4xf32>) -> tensor<3x4xf32>
  func.return %r : tensor<3x4xf32>
}

// -----

// ScatterND reads the target coordinates from the index tensor's last dim.
// CHECK-LABEL: func.func @scatter_nd
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK:           tensor.extract %{{.*}}[%{{.*}}, %{{.*}}] : tensor<2x1xi64>
func.func @scatter_nd(%data: tensor<3x4xf32>, %idx: tensor<2x1xi64>, %upd: tensor<2x4xf32>) -> tensor<3x4xf32> {
  %r = nn.scatter_nd %data, %idx, %upd : (tensor<3x4xf32>, tensor<2x1xi64>, tensor<2x4xf32>) -> tensor<3x4xf32>
  func.return %r : tensor<3x4xf32>
}
