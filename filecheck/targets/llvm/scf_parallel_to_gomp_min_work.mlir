// RUN: terrace-opt %s -p convert-scf-parallel-to-gomp --split-input-file | filecheck %s

// Below min-work (2^14 operations by default) a loop stays an scf.parallel, which
// convert-scf-structured-to-cf runs on the calling thread: 64 x 8 iterations of 3 ops
// (plus the inner loop's own op and yield) are about 2,600.

// CHECK-LABEL: func.func @small
// CHECK-NOT: GOMP_parallel
// CHECK: "scf.parallel"
// CHECK-NOT: func.func private @small_parallel_0
func.func @small(%x: memref<64x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c64 = arith.constant 64 : index
  "scf.parallel"(%c0, %c64, %c1) <{operandSegmentSizes = array<i32: 1, 1, 1, 0>}> ({
  ^bb0(%i: index):
    scf.for %j = %c0 to %c8 step %c1 {
      %value = memref.load %x[%i, %j] : memref<64x8xf32>
      %doubled = arith.addf %value, %value : f32
      memref.store %doubled, %x[%i, %j] : memref<64x8xf32>
    }
    scf.reduce
  }) : (index, index, index) -> ()
  func.return
}

// -----

// The same body over 64 x 1024 iterations (about 330,000 operations) runs on threads.

// CHECK-LABEL: func.func @large
// CHECK: llvm.call @GOMP_parallel
// CHECK-NOT: "scf.parallel"
// CHECK: func.func private @large_parallel_0
func.func @large(%x: memref<64x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c1024 = arith.constant 1024 : index
  "scf.parallel"(%c0, %c64, %c1) <{operandSegmentSizes = array<i32: 1, 1, 1, 0>}> ({
  ^bb0(%i: index):
    scf.for %j = %c0 to %c1024 step %c1 {
      %value = memref.load %x[%i, %j] : memref<64x1024xf32>
      %doubled = arith.addf %value, %value : f32
      memref.store %doubled, %x[%i, %j] : memref<64x1024xf32>
    }
    scf.reduce
  }) : (index, index, index) -> ()
  func.return
}

// -----

// A trip count known only at run time counts as enough work.

// CHECK-LABEL: func.func @dynamic
// CHECK: llvm.call @GOMP_parallel
// CHECK: func.func private @dynamic_parallel_0
func.func @dynamic(%x: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  "scf.parallel"(%c0, %n, %c1) <{operandSegmentSizes = array<i32: 1, 1, 1, 0>}> ({
  ^bb0(%i: index):
    %value = memref.load %x[%i] : memref<?xf32>
    memref.store %value, %x[%i] : memref<?xf32>
    scf.reduce
  }) : (index, index, index) -> ()
  func.return
}
