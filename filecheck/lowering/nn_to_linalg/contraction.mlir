// RUN: terrace-opt %s -p convert-nn-to-linalg --split-input-file | filecheck %s

// CHECK-LABEL: func.func @matmul_2d
// CHECK:         %[[ZERO:.*]] = linalg.fill
// CHECK-NEXT:    %{{.*}} = linalg.matmul ins(%a, %b : tensor<2x3xf32>, tensor<3x4xf32>) outs(%[[ZERO]] : tensor<2x4xf32>)
func.func @matmul_2d(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x4xf32> {
  %y = nn.matmul %a, %b : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}

// -----

// The size-1 batch dim of %a reads index 0; %b's missing batch dim is not read.
// CHECK-LABEL: func.func @matmul_batch_broadcast
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, 0, d2, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d1, d4, d3)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK:           arith.mulf
// CHECK-NEXT:      arith.addf
func.func @matmul_batch_broadcast(%a: tensor<2x1x2x3xf32>, %b: tensor<3x3x4xf32>) -> tensor<2x3x2x4xf32> {
  %y = nn.matmul %a, %b : (tensor<2x1x2x3xf32>, tensor<3x3x4xf32>) -> tensor<2x3x2x4xf32>
  func.return %y : tensor<2x3x2x4xf32>
}

// -----

// CHECK-LABEL: func.func @gemm_trans_b_alpha_beta
// CHECK:         %[[AB:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %b
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>]{{.*}} ins(%[[AB]], %c
// CHECK:           %[[ALPHA:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-NEXT:      %[[SCALED:.*]] = arith.mulf %[[ALPHA]]
// CHECK-NEXT:      %[[BETA:.*]] = arith.constant 2.000000e+00 : f32
// CHECK-NEXT:      %[[C:.*]] = arith.mulf %[[BETA]]
// CHECK-NEXT:      arith.addf %[[SCALED]], %[[C]]
func.func @gemm_trans_b_alpha_beta(%a: tensor<2x3xf32>, %b: tensor<4x3xf32>, %c: tensor<4xf32>) -> tensor<2x4xf32> {
  %y = nn.gemm %a, %b, %c {transB = 1 : i64, alpha = 0.5 : f64, beta = 2.0 : f64} : (tensor<2x3xf32>, tensor<4x3xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}
