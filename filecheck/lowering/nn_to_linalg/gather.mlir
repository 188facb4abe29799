// RUN: terrace-opt %s -p convert-nn-to-linalg --split-input-file | filecheck %s

// The index check (index_checks.mlir) comes first; then the indices become positions, wrapped
// and clamped into the axis once per index; the gather reads them as a generic input and the
// data with tensor.extract.
// CHECK-LABEL: func.func @gather
// CHECK-SAME:    (%[[DATA:.*]]: tensor<3x4xf32>, %[[IDX:.*]]: tensor<2xi64>) -> (tensor<3x2xf32>, tensor<3xi64>)
// CHECK:         %[[STATUS:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%[[IDX]] : tensor<2xi64>)
// CHECK:         %[[POSITIONS:.*]] = linalg.generic {{.*}} ins(%[[IDX]] : tensor<2xi64>)
// CHECK:           %[[NEG:.*]] = arith.cmpi slt, %[[I:.*]], %{{.*}} : i64
// CHECK:           %[[WRAPPED:.*]] = arith.select %[[NEG]], %{{.*}}, %[[I]] : i64
// CHECK:           %[[LOW:.*]] = arith.maxsi %[[WRAPPED]], %{{.*}} : i64
// CHECK:           %[[POS:.*]] = arith.minsi %[[LOW]], %{{.*}} : i64
// CHECK:           linalg.yield %[[POS]] : i64
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>]
// CHECK-SAME:      ins(%[[POSITIONS]] : tensor<2xi64>)
// CHECK:         ^{{.*}}(%[[P:.*]]: i64, %{{.*}}: f32):
// CHECK:           %[[COLUMN:.*]] = arith.index_cast %[[P]] : i64 to index
// CHECK:           %[[ROW:.*]] = linalg.index 0 : index
// CHECK:           tensor.extract %[[DATA]][%[[ROW]], %[[COLUMN]]] : tensor<3x4xf32>
func.func @gather(%data: tensor<3x4xf32>, %idx: tensor<2xi64>) -> tensor<3x2xf32> {
  %r = nn.gather %data, %idx {axis = 1 : i64} : (tensor<3x4xf32>, tensor<2xi64>) -> tensor<3x2xf32>
  func.return %r : tensor<3x2xf32>
}

// -----

// GatherElements: loop indices everywhere but the axis, which reads the (wrapped) index.
// CHECK-LABEL: func.func @gather_elements
// CHECK-SAME:    (%[[DATA:.*]]: tensor<3x4xf32>, %[[IDX:.*]]: tensor<2x4xi32>)
// CHECK:         linalg.generic {{.*}} iterator_types = ["reduction", "reduction", "parallel"]} ins(%[[IDX]]
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>]
// CHECK:           %[[WIDE:.*]] = arith.extsi %{{.*}} : i32 to i64
// CHECK:           arith.select %{{.*}}, %{{.*}}, %{{.*}} : index
// CHECK:           %[[POS:.*]] = arith.minsi %{{.*}}, %{{.*}} : index
// CHECK:           tensor.extract %[[DATA]][%[[POS]], %{{.*}}] : tensor<3x4xf32>
func.func @gather_elements(%data: tensor<3x4xf32>, %idx: tensor<2x4xi32>) -> tensor<2x4xf32> {
  %r = nn.gather_elements %data, %idx {axis = 0 : i64} : (tensor<3x4xf32>, tensor<2x4xi32>) -> tensor<2x4xf32>
  func.return %r : tensor<2x4xf32>
}

// -----

// GatherND: the index vector's entries come from tensor.extract of the positions (wrapped, clamped).
// CHECK-LABEL: func.func @gather_nd
// CHECK-SAME:    (%[[DATA:.*]]: tensor<3x4xf32>, %[[IDX:.*]]: tensor<5x2xi64>)
// CHECK:         linalg.generic {{.*}} iterator_types = ["reduction", "reduction", "parallel"]} ins(%[[IDX]]
// CHECK:         %[[POSITIONS:.*]] = linalg.generic {{.*}} ins(%[[IDX]] : tensor<5x2xi64>)
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
// CHECK:           tensor.extract %[[POSITIONS]][%{{.*}}, %{{.*}}] : tensor<5x2xi64>
// CHECK:           tensor.extract %[[POSITIONS]][%{{.*}}, %{{.*}}] : tensor<5x2xi64>
// CHECK:           tensor.extract %[[DATA]][%{{.*}}, %{{.*}}] : tensor<3x4xf32>
func.func @gather_nd(%data: tensor<3x4xf32>, %idx: tensor<5x2xi64>) -> tensor<5xf32> {
  %r = nn.gather_nd %data, %idx : (tensor<3x4xf32>, tensor<5x2xi64>) -> tensor<5xf32>
  func.return %r : tensor<5xf32>
}
