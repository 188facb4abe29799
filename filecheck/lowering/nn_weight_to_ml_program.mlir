// REQUIRES: mlir-opt-22
// RUN: terrace-opt %s -p convert-nn-weight-to-ml-program --split-input-file | filecheck %s
// RUN: terrace-opt %s -p convert-nn-weight-to-ml-program --split-input-file | mlir-opt-22 --verify-each --split-input-file | filecheck %s --check-prefix=UPSTREAM

// One extern global per weight name, declared in the order of first use, before the function;
// a name that is not an identifier is quoted; two uses of one name share the global.

// CHECK:       ml_program.global private @"fc1/w"(#ml_program.extern : tensor<4x3xf32>) : tensor<4x3xf32>
// CHECK-NEXT:  ml_program.global private @b(#ml_program.extern : tensor<4xf32>) : tensor<4xf32>
// CHECK-NOT:   ml_program.global
// CHECK-LABEL: func.func @two_weights
// CHECK-NEXT:  %{{.*}} = ml_program.global_load_const @"fc1/w" : tensor<4x3xf32>
// CHECK-NEXT:  %{{.*}} = ml_program.global_load_const @b : tensor<4xf32>
// CHECK-NEXT:  %{{.*}} = ml_program.global_load_const @"fc1/w" : tensor<4x3xf32>
// CHECK-NOT:   nn.weight

// Upstream reads the same module (it prints the extern value as an alias).
// UPSTREAM:       #[[EXTERN:.*]] = #ml_program.extern : tensor<4x3xf32>
// UPSTREAM:       ml_program.global private @"fc1/w"(#[[EXTERN]]) : tensor<4x3xf32>
// UPSTREAM-LABEL: func.func @two_weights
// UPSTREAM:       ml_program.global_load_const @"fc1/w" : tensor<4x3xf32>
func.func @two_weights() -> (tensor<4x3xf32>, tensor<4xf32>, tensor<4x3xf32>) {
  %w = nn.weight "fc1/w" : tensor<4x3xf32>
  %b = nn.weight "b" : tensor<4xf32>
  %again = nn.weight "fc1/w" : tensor<4x3xf32>
  func.return %w, %b, %again : tensor<4x3xf32>, tensor<4xf32>, tensor<4x3xf32>
}

// -----

// A module without weights is left as it was.

// CHECK-NOT:   ml_program.global
// CHECK-LABEL: func.func @no_weights
// CHECK-NEXT:  func.return %{{.*}} : tensor<2xf32>
func.func @no_weights(%x: tensor<2xf32>) -> tensor<2xf32> {
  func.return %x : tensor<2xf32>
}
