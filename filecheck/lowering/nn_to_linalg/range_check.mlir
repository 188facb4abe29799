// RUN: terrace-opt %s -p convert-nn-to-linalg --split-input-file | filecheck %s

// nn.range_check becomes a status generic like an index check's: [1, flat position, value]
// for the first element (row-major) outside [low, high]; its record names the operand and the
// range, and the checked tensor itself flows on unchanged.
// CHECK-LABEL: func.func @sequence_lens
// CHECK-SAME:    (%[[LENGTHS:.*]]: tensor<2x3xi64>) -> (tensor<2x3xi64>, tensor<3xi64>)
// CHECK-SAME:    terrace.index_checks = [{node = "rs", op = "ReverseSequence", dims = [2 : i64, 3 : i64], operand = "sequence_lens", low = 0 : i64, high = 5 : i64}]
// CHECK:         %[[CHECK:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d2)>], iterator_types = ["reduction", "reduction", "parallel"]}
// CHECK-SAME:      ins(%[[LENGTHS]] : tensor<2x3xi64>)
// CHECK:           %[[VALUE:.*]] = tensor.extract %[[LENGTHS]][%{{.*}}, %{{.*}}] : tensor<2x3xi64>
// CHECK:           %[[BELOW:.*]] = arith.cmpi slt, %[[VALUE]], %{{.*}} : i64
// CHECK:           %[[ABOVE:.*]] = arith.cmpi sgt, %[[VALUE]], %{{.*}} : i64
// CHECK:           %[[BAD:.*]] = arith.ori %[[BELOW]], %[[ABOVE]] : i1
// CHECK:           arith.muli
// CHECK:         func.return %[[LENGTHS]], %{{.*}} : tensor<2x3xi64>, tensor<3xi64>
func.func @sequence_lens(%lengths: tensor<2x3xi64>) -> tensor<2x3xi64> {
  %r = nn.range_check %lengths {operand = "sequence_lens", op_type = "ReverseSequence", low = 0 : i64, high = 5 : i64} : tensor<2x3xi64> loc("rs")
  func.return %r : tensor<2x3xi64>
}

// -----

// No upper bound: only the lower one is compared.
// CHECK-LABEL: func.func @write_indices
// CHECK-SAME:    terrace.index_checks = [{node = "ts", op = "TensorScatter", dims = [2 : i64], operand = "write_indices", low = 0 : i64}]
// CHECK:         linalg.generic
// CHECK:           arith.cmpi slt
// CHECK-NOT:       arith.cmpi sgt
// CHECK:         linalg.yield
func.func @write_indices(%writes: tensor<2xi64>) -> tensor<2xi64> {
  %r = nn.range_check %writes {operand = "write_indices", op_type = "TensorScatter", low = 0 : i64} : tensor<2xi64> loc("ts")
  func.return %r : tensor<2xi64>
}
