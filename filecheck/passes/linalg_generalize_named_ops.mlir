// RUN: terrace-opt %s -p linalg-generalize-named-ops --print-debuginfo | filecheck %s

// A named op becomes a linalg.generic at the named op's location (the ONNX node name).

// CHECK-LABEL: func.func @matmul
// CHECK:       linalg.generic
// CHECK-SAME:  iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:       arith.mulf
// CHECK:       arith.addf
// CHECK:       loc("gemm_node")
// CHECK-NOT:   linalg.matmul
func.func @matmul(%a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>) {
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>) loc("gemm_node")
  func.return
}
