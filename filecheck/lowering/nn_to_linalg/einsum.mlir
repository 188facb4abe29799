// RUN: terrace-opt %s -p convert-nn-to-linalg --split-input-file | filecheck %s

// One loop per label: output labels parallel, the others reductions; f16 accumulates in f32.
// CHECK-LABEL: func.func @matmul_f16
// CHECK:         %[[INIT:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<2x4xf32>)
// CHECK:         %[[SUM:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:      outs(%[[INIT]] : tensor<2x4xf32>)
// CHECK:           arith.extf
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK:         linalg.generic
// CHECK:           arith.truncf %{{.*}} : f32 to f16
func.func @matmul_f16(%a: tensor<2x3xf16>, %b: tensor<3x4xf16>) -> tensor<2x4xf16> {
  %r = nn.einsum %a, %b {equation = "ij,jk->ik"} : (tensor<2x3xf16>, tensor<3x4xf16>) -> tensor<2x4xf16>
  func.return %r : tensor<2x4xf16>
}

// -----

// A label repeated in one operand reads one loop twice: the diagonal.
// CHECK-LABEL: func.func @diagonal
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0) -> (d0, d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
func.func @diagonal(%a: tensor<3x3xf32>) -> tensor<3xf32> {
  %r = nn.einsum %a {equation = "ii->i"} : (tensor<3x3xf32>) -> tensor<3xf32>
  func.return %r : tensor<3xf32>
}
