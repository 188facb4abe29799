// RUN: terrace-opt %s -p convert-ml-program-to-nn-weight --split-input-file | filecheck %s

// Loads of extern globals become nn.weight ops of the same name; the declarations go. A global
// with its value in the IR is not a weight: it and its load stay.

// CHECK-NOT:   ml_program.global private @"fc1/w"
// CHECK:       ml_program.global private @table(dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>) : tensor<2xf32>
// CHECK-NOT:   ml_program.global private @"fc1/w"
// CHECK-LABEL: func.func @weights
// CHECK-NEXT:  %{{.*}} = nn.weight "fc1/w" : tensor<4x3xf32>
// CHECK-NEXT:  %{{.*}} = ml_program.global_load_const @table : tensor<2xf32>
ml_program.global private @"fc1/w"(#ml_program.extern : tensor<4x3xf32>) : tensor<4x3xf32>
ml_program.global private @table(dense<[1.0, 2.0]> : tensor<2xf32>) : tensor<2xf32>
func.func @weights() -> (tensor<4x3xf32>, tensor<2xf32>) {
  %w = ml_program.global_load_const @"fc1/w" : tensor<4x3xf32>
  %t = ml_program.global_load_const @table : tensor<2xf32>
  func.return %w, %t : tensor<4x3xf32>, tensor<2xf32>
}
