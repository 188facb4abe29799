// RUN: not terrace-opt %s -p convert-scf-structured-to-cf 2>&1 | filecheck %s

// Reductions have no lowering yet: the error names the op.

// CHECK: scf.parallel at {{.*}}: reductions (scf.reduce operands) have no lowering yet
func.func @parallel_sum(%in: memref<8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  %sum = "scf.parallel"(%c0, %c8, %c1, %zero) <{operandSegmentSizes = array<i32: 1, 1, 1, 1>}> ({
  ^bb0(%i: index):
    %x = memref.load %in[%i] : memref<8xf32>
    scf.reduce(%x : f32) {
    ^bb1(%lhs: f32, %rhs: f32):
      %s = arith.addf %lhs, %rhs : f32
      scf.reduce.return %s : f32
    }
  }) : (index, index, index, f32) -> f32
  func.return %sum : f32
}
