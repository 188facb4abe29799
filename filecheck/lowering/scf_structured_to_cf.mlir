// RUN: terrace-opt %s -p convert-scf-structured-to-cf --split-input-file | filecheck %s

// The before region is the header: scf.condition branches to the after region with the
// forwarded values or to the continuation with the results; scf.yield branches back.

// CHECK-LABEL: func.func @while_loop
// CHECK-SAME: (%[[START:.*]]: i32, %[[LIMIT:.*]]: i32)
// CHECK: %[[ZERO:.*]] = arith.constant 0 : i32
// CHECK-NEXT: cf.br ^[[HEADER:.*]](%[[START]], %[[ZERO]] : i32, i32)
// CHECK-NEXT: ^[[HEADER]](%[[X:.*]]: i32, %[[N:.*]]: i32):
// CHECK-NEXT: %[[LT:.*]] = arith.cmpi slt, %[[X]], %[[LIMIT]] : i32
// CHECK-NEXT: cf.cond_br %[[LT]], ^[[BODY:.*]](%[[X]], %[[N]] : i32, i32), ^[[EXIT:.*]](%[[X]], %[[N]] : i32, i32)
// CHECK-NEXT: ^[[BODY]](%[[X2:.*]]: i32, %[[N2:.*]]: i32):
// CHECK: cf.br ^[[HEADER]](%{{.*}}, %{{.*}} : i32, i32)
// CHECK-NEXT: ^[[EXIT]](%[[R0:.*]]: i32, %[[R1:.*]]: i32):
// CHECK-NEXT: func.return %[[R0]], %[[R1]] : i32, i32
// CHECK-NOT: scf.
func.func @while_loop(%start: i32, %limit: i32) -> (i32, i32) {
  %zero = arith.constant 0 : i32
  %r:2 = scf.while (%x = %start, %n = %zero) : (i32, i32) -> (i32, i32) {
    %lt = arith.cmpi slt, %x, %limit : i32
    scf.condition(%lt) %x, %n : i32, i32
  } do {
  ^bb0(%x2: i32, %n2: i32):
    %y = arith.addi %x2, %x2 : i32
    %one = arith.constant 1 : i32
    %m = arith.addi %n2, %one : i32
    scf.yield %y, %m : i32, i32
  }
  func.return %r#0, %r#1 : i32, i32
}

// -----

// A while inside an scf.for: the for is lowered to cf first, since the while's blocks cannot
// live in its single-block body; an scf.for without a while inside stays.

// CHECK-LABEL: func.func @while_in_for
// CHECK-NOT: scf.while
// CHECK-NOT: scf.for
// CHECK: cf.cond_br
// CHECK: cf.cond_br
// CHECK: scf.for
// CHECK-NOT: scf.while
func.func @while_in_for(%out: memref<4xi32>, %limit: i32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    %start = arith.index_cast %i : index to i32
    %r = scf.while (%x = %start) : (i32) -> i32 {
      %lt = arith.cmpi slt, %x, %limit : i32
      scf.condition(%lt) %x : i32
    } do {
    ^bb0(%x2: i32):
      %one = arith.constant 1 : i32
      %y = arith.addi %x2, %one : i32
      scf.yield %y : i32
    }
    memref.store %r, %out[%i] : memref<4xi32>
  }
  scf.for %j = %c0 to %c4 step %c1 {
    memref.store %limit, %out[%j] : memref<4xi32>
  }
  func.return
}

// -----

// A 2-d parallel loop becomes two scf.for loops, the first dimension outermost.

// CHECK-LABEL: func.func @parallel_2d
// CHECK-SAME: (%[[OUT:.*]]: memref<3x4xf32>, %[[V:.*]]: f32)
// CHECK: scf.for %[[I:.*]] = %[[C0:.*]] to %[[C3:.*]] step %[[C1:.*]] {
// CHECK-NEXT: scf.for %[[J:.*]] = %[[C0]] to %[[C4:.*]] step %[[C2:.*]] {
// CHECK-NEXT: memref.store %[[V]], %[[OUT]][%[[I]], %[[J]]] : memref<3x4xf32>
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NOT: scf.parallel
// CHECK-NOT: scf.reduce
func.func @parallel_2d(%out: memref<3x4xf32>, %v: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  "scf.parallel"(%c0, %c0, %c3, %c4, %c1, %c2) <{operandSegmentSizes = array<i32: 2, 2, 2, 0>}> ({
  ^bb0(%i: index, %j: index):
    memref.store %v, %out[%i, %j] : memref<3x4xf32>
    scf.reduce
  }) : (index, index, index, index, index, index) -> ()
  func.return
}
