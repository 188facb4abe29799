// RUN: terrace-opt %s -p convert-memref-to-llvm --split-input-file | filecheck %s

// CHECK-LABEL: func.func @view_load_store
// CHECK-SAME: (%[[IN:.*]]: !llvm.ptr, %[[WS:.*]]: !llvm.ptr)
func.func @view_load_store(%in: memref<4x8xf32>, %ws: memref<256xi8>) {
  %c64 = arith.constant 64 : index
  %i = arith.constant 1 : index
  // CHECK: %[[BYTES:.*]] = arith.index_cast %{{.*}} : index to i64
  // CHECK: %[[VIEW:.*]] = llvm.getelementptr %{{.*}}[%[[BYTES]]] : (!llvm.ptr, i64) -> !llvm.ptr, i8
  %v = memref.view %ws[%c64][] : memref<256xi8> to memref<4x8xf32>
  // CHECK: llvm.load %{{.*}} : !llvm.ptr -> f32
  %x = memref.load %in[%i, %i] : memref<4x8xf32>
  // CHECK: llvm.store %{{.*}}, %{{.*}} : f32, !llvm.ptr
  memref.store %x, %v[%i, %i] : memref<4x8xf32>
  func.return
}

// -----

// CHECK-LABEL: func.func @reshape_and_copy
// CHECK-SAME: (%[[A:.*]]: !llvm.ptr, %[[B:.*]]: !llvm.ptr)
func.func @reshape_and_copy(%a: memref<4x8xf32>, %b: memref<32xf32>) {
  %f = memref.collapse_shape %a [[0, 1]] : memref<4x8xf32> into memref<32xf32>
  // CHECK: %[[SIZE:.*]] = llvm.mlir.constant(128) : i64
  // CHECK: llvm.call_intrinsic "llvm.memcpy.p0.p0.i64"(%{{.*}}, %{{.*}}, %[[SIZE]], %{{.*}})
  "memref.copy"(%f, %b) : (memref<32xf32>, memref<32xf32>) -> ()
  func.return
}

// -----

// CHECK-LABEL: func.func @strided_copy
func.func @strided_copy(%a: memref<4x8xf32>, %b: memref<2x3xf32>) {
  %s = memref.subview %a[1, 2][2, 3][1, 1] : memref<4x8xf32> to memref<2x3xf32, strided<[8, 1], offset: 10>>
  // CHECK: scf.for
  // CHECK: scf.for
  // CHECK: llvm.load
  // CHECK: llvm.store
  "memref.copy"(%s, %b) : (memref<2x3xf32, strided<[8, 1], offset: 10>>, memref<2x3xf32>) -> ()
  func.return
}

// -----

// A large strided copy (padding an activation): all dims but the innermost in one
// scf.parallel, for convert-scf-parallel-to-gomp to put on threads.
// CHECK-LABEL: func.func @large_strided_copy
// CHECK:       "scf.parallel"
// CHECK-SAME:  operandSegmentSizes = array<i32: 2, 2, 2, 0>
// CHECK:       scf.for
// CHECK:       llvm.load
// CHECK:       llvm.store
// CHECK:       scf.reduce
func.func @large_strided_copy(%a: memref<64x130x130xf32>, %b: memref<64x128x128xf32>) {
  %s = memref.subview %a[0, 1, 1][64, 128, 128][1, 1, 1] : memref<64x130x130xf32> to memref<64x128x128xf32, strided<[16900, 130, 1], offset: 131>>
  "memref.copy"(%b, %s) : (memref<64x128x128xf32>, memref<64x128x128xf32, strided<[16900, 130, 1], offset: 131>>) -> ()
  func.return
}
