// RUN: terrace-opt %s -p convert-vector-to-llvm --split-input-file | filecheck %s
// RUN: terrace-opt %s -p convert-memref-to-llvm --split-input-file | filecheck %s --check-prefix=MEMORY

// A splat is an insertelement into lane 0 and a zero-mask shuffle; fma is the intrinsic.

// CHECK-LABEL: func.func @splat_fma
// CHECK-SAME:  (%[[S:[^:]*]]: f32, %[[B:[^:]*]]: vector<16xf32>, %[[C:[^:]*]]: vector<16xf32>)
// CHECK:       %[[UNDEF:.*]] = llvm.mlir.undef : vector<16xf32>
// CHECK-NEXT:  %[[LANE:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK-NEXT:  %[[ONE:.*]] = llvm.insertelement %[[S]], %[[UNDEF]][%[[LANE]] : i32] : vector<16xf32>
// CHECK-NEXT:  %[[SPLAT:.*]] = llvm.shufflevector %[[ONE]], %[[UNDEF]] [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] : vector<16xf32>
// CHECK-NEXT:  %[[FMA:.*]] = llvm.intr.fma(%[[SPLAT]], %[[B]], %[[C]]) : (vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
// CHECK-NEXT:  func.return %[[FMA]]
func.func @splat_fma(%s: f32, %b: vector<16xf32>, %c: vector<16xf32>) -> vector<16xf32> {
  %splat = vector.broadcast %s : f32 to vector<16xf32>
  %r = vector.fma %splat, %b, %c : vector<16xf32>
  func.return %r : vector<16xf32>
}

// -----

// Loads and stores address the element like memref.load does, with the element's alignment
// (4), never the vector's; masked ones call the mangled intrinsics.

// MEMORY-LABEL: func.func @memory
// MEMORY:       %[[V:.*]] = llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr -> vector<8xf32>
// MEMORY:       llvm.store %[[V]], %{{.*}} {alignment = 4 : i64} : vector<8xf32>, !llvm.ptr
// MEMORY:       %[[M:.*]] = llvm.call_intrinsic "llvm.masked.load.v8f32.p0"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (!llvm.ptr, i32, vector<8xi1>, vector<8xf32>) -> vector<8xf32>
// MEMORY:       llvm.call_intrinsic "llvm.masked.store.v8f32.p0"(%[[M]], %{{.*}}, %{{.*}}, %{{.*}}) : (vector<8xf32>, !llvm.ptr, i32, vector<8xi1>) -> ()
func.func @memory(%a: memref<4x8xf32>, %i: index, %mask: vector<8xi1>, %pass: vector<8xf32>) {
  %c0 = arith.constant 0 : index
  %v = vector.load %a[%i, %c0] : memref<4x8xf32>, vector<8xf32>
  vector.store %v, %a[%c0, %c0] : memref<4x8xf32>, vector<8xf32>
  %m = vector.maskedload %a[%i, %c0], %mask, %pass : memref<4x8xf32>, vector<8xi1>, vector<8xf32> into vector<8xf32>
  vector.maskedstore %a[%c0, %c0], %mask, %m : memref<4x8xf32>, vector<8xi1>, vector<8xf32>
  func.return
}
