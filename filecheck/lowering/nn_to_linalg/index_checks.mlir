// RUN: terrace-opt %s -p convert-nn-to-linalg --split-input-file | filecheck %s

// A status generic per indexing op: a reduction over the indices (read back to front with
// tensor.extract, so the first bad one in row-major order wins) into [1, axis, value] when an
// index is outside [-size, size); one combining generic numbers the checks in program order
// and becomes the function's last result, the checks recorded on the function.
// CHECK-LABEL: func.func @two_checks
// CHECK-SAME:    (%[[DATA:.*]]: tensor<4x5xf32>, %[[ROWS:.*]]: tensor<3xi64>, %[[COLS:.*]]: tensor<2xi32>)
// CHECK-SAME:    -> (tensor<3x5xf32>, tensor<3x2xf32>, tensor<3xi64>)
// CHECK-SAME:    terrace.index_checks = [{node = "rows", op = "Gather", dims = [4 : i64, 5 : i64]}, {node = "cols", op = "Gather", dims = [3 : i64, 5 : i64]}]
// CHECK:         %[[ZEROS:.*]] = linalg.fill ins(%{{.*}} : i64) outs(%{{.*}} : tensor<3xi64>)
// CHECK:         %[[FIRST:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d1)>], iterator_types = ["reduction", "parallel"]}
// CHECK-SAME:      ins(%[[ROWS]] : tensor<3xi64>) outs(%[[ZEROS]] : tensor<3xi64>)
// CHECK:           %[[LOOP:.*]] = linalg.index 0 : index
// CHECK:           %[[BACK:.*]] = arith.subi %{{.*}}, %[[LOOP]] : index
// CHECK:           %[[INDEX:.*]] = tensor.extract %[[ROWS]][%[[BACK]]] : tensor<3xi64>
// CHECK:           %[[BELOW:.*]] = arith.cmpi slt, %[[INDEX]], %{{.*}} : i64
// CHECK:           %[[ABOVE:.*]] = arith.cmpi sge, %[[INDEX]], %{{.*}} : i64
// CHECK:           %[[BAD:.*]] = arith.ori %[[BELOW]], %[[ABOVE]] : i1
// CHECK:           %[[SLOT:.*]] = linalg.index 1 : index
// CHECK:           %[[NEW:.*]] = arith.select %[[BAD]], %{{.*}}, %{{.*}} : i64
// CHECK-NEXT:      linalg.yield %[[NEW]] : i64
// CHECK:         %picked = linalg.generic
// CHECK:         %[[SECOND:.*]] = linalg.generic {{.*}} ins(%[[COLS]] : tensor<2xi32>)
// CHECK:           arith.extsi %{{.*}} : i32 to i64
// CHECK:         %r = linalg.generic
// CHECK:         %[[STATUS:.*]] = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (0)>, affine_map<(d0) -> (d0)>]
// CHECK-SAME:      ins(%[[FIRST]], %[[FIRST]], %[[SECOND]], %[[SECOND]] : tensor<3xi64>, tensor<3xi64>, tensor<3xi64>, tensor<3xi64>)
// CHECK:         func.return %picked, %r, %[[STATUS]] : tensor<3x5xf32>, tensor<3x2xf32>, tensor<3xi64>
func.func @two_checks(%data: tensor<4x5xf32>, %rows: tensor<3xi64>, %cols: tensor<2xi32>) -> (tensor<3x5xf32>, tensor<3x2xf32>) {
  %picked = nn.gather %data, %rows {axis = 0 : i64} : (tensor<4x5xf32>, tensor<3xi64>) -> tensor<3x5xf32> loc("rows")
  %r = nn.gather %picked, %cols {axis = 1 : i64} : (tensor<3x5xf32>, tensor<2xi32>) -> tensor<3x2xf32> loc("cols")
  func.return %picked, %r : tensor<3x5xf32>, tensor<3x2xf32>
}

// -----

// GatherND and ScatterND check indices[..., k] against axis batch_dims + k: the axis and its
// size are picked by the (reversed) position along the indices' last dim.
// CHECK-LABEL: func.func @scatter_nd
// CHECK-SAME:    -> (tensor<4x5xf32>, tensor<3xi64>)
// CHECK-SAME:    terrace.index_checks = [{node = "scatter", op = "ScatterND", dims = [4 : i64, 5 : i64]}]
// CHECK:         linalg.generic {{.*}} iterator_types = ["reduction", "reduction", "parallel"]}
// CHECK:           %[[B:.*]] = arith.subi %{{.*}}, %{{.*}} : index
// CHECK:           %[[K:.*]] = arith.subi %{{.*}}, %{{.*}} : index
// CHECK:           tensor.extract %{{.*}}[%[[B]], %[[K]]] : tensor<2x2xi64>
// CHECK:           arith.cmpi eq, %[[K]], %{{.*}} : index
// CHECK:           arith.select
func.func @scatter_nd(%data: tensor<4x5xf32>, %idx: tensor<2x2xi64>, %updates: tensor<2xf32>) -> tensor<4x5xf32> {
  %r = nn.scatter_nd %data, %idx, %updates : (tensor<4x5xf32>, tensor<2x2xi64>, tensor<2xf32>) -> tensor<4x5xf32> loc("scatter")
  func.return %r : tensor<4x5xf32>
}

// -----

// Constant indices are checked when compiling: no status.
// CHECK-LABEL: func.func @constant_indices
// CHECK-SAME:    -> tensor<4x2xf32> {
// CHECK-NOT:     terrace.index_checks
// CHECK:         func.return
func.func @constant_indices(%data: tensor<4x5xf32>) -> tensor<4x2xf32> {
  %idx = nn.constant {value = dense<[-5, 4]> : tensor<2xi64>} : tensor<2xi64>
  %r = nn.gather %data, %idx {axis = 1 : i64} : (tensor<4x5xf32>, tensor<2xi64>) -> tensor<4x2xf32>
  func.return %r : tensor<4x2xf32>
}
