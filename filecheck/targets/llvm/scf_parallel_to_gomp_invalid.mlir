// RUN: not terrace-opt %s -p convert-scf-parallel-to-gomp 2>&1 | filecheck %s

// A parallel loop with a reduction has no lowering yet: the error names the op.

// CHECK: scf.parallel at {{.*}}: reductions (scf.reduce operands) have no lowering yet
func.func @sum(%n: index) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %total = "scf.parallel"(%c0, %n, %c1, %zero) <{operandSegmentSizes = array<i32: 1, 1, 1, 1>}> ({
  ^bb0(%i: index):
    scf.reduce(%one : f32) {
    ^bb1(%a: f32, %b: f32):
      %s = arith.addf %a, %b : f32
      scf.reduce.return %s : f32
    }
  }) : (index, index, index, f32) -> f32
  func.return %total : f32
}
