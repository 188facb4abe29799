// RUN: terrace-opt %s -p 'convert-scf-parallel-to-gomp{min-work=0}' --split-input-file | filecheck %s

// Every loop here is small: min-work=0 gives each its parallel region (the threshold is
// tested in scf_parallel_to_gomp_min_work.mlir).

// The loop becomes a GOMP_parallel call of the outlined body with a struct of the captured
// values (constants are cloned, not passed); each thread runs its static share of the
// iterations as one scf.for.

// CHECK: llvm.func @omp_get_num_threads() -> i32
// CHECK: llvm.func @omp_get_thread_num() -> i32
// CHECK: llvm.func @GOMP_parallel(!llvm.ptr, !llvm.ptr, i32, i32)
// CHECK-LABEL: func.func @scale
// CHECK-SAME: (%[[X:.*]]: !llvm.ptr, %[[N:.*]]: index, %[[FACTOR:.*]]: f32)
// CHECK: %[[ALLOCA:.*]] = llvm.alloca %{{.*}} x !llvm.struct<(index, !llvm.ptr, f32)>
// CHECK: %[[INT:.*]] = llvm.ptrtoint %[[ALLOCA]]
// CHECK: %[[DATA:.*]] = llvm.inttoptr %[[INT]]
// CHECK: %[[SLOT0:.*]] = llvm.getelementptr %[[DATA]][0, 0]
// CHECK-NEXT: llvm.store %[[N]], %[[SLOT0]] : index, !llvm.ptr
// CHECK: %[[SLOT1:.*]] = llvm.getelementptr %[[DATA]][0, 1]
// CHECK-NEXT: llvm.store %[[X]], %[[SLOT1]] : !llvm.ptr, !llvm.ptr
// CHECK: %[[SLOT2:.*]] = llvm.getelementptr %[[DATA]][0, 2]
// CHECK-NEXT: llvm.store %[[FACTOR]], %[[SLOT2]] : f32, !llvm.ptr
// CHECK-NEXT: %[[FN:.*]] = llvm.mlir.addressof @scale_parallel_0 : !llvm.ptr
// CHECK-NEXT: %[[ZERO:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK-NEXT: llvm.call @GOMP_parallel(%[[FN]], %[[DATA]], %[[ZERO]], %[[ZERO]])
// CHECK-NOT: scf.parallel
// CHECK: func.return

// CHECK-LABEL: func.func private @scale_parallel_0
// CHECK-SAME: (%[[ARG:.*]]: !llvm.ptr)
// CHECK: %[[P1:.*]] = llvm.getelementptr %[[ARG]][0, 1]
// CHECK-NEXT: %[[PTR:.*]] = llvm.load %[[P1]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[P2:.*]] = llvm.getelementptr %[[ARG]][0, 2]
// CHECK-NEXT: %[[F:.*]] = llvm.load %[[P2]] : !llvm.ptr -> f32
// CHECK: %[[COUNT:.*]] = arith.ceildivui
// CHECK: %[[THREAD:.*]] = llvm.call @omp_get_thread_num() : () -> i32
// CHECK: %[[THREADS:.*]] = llvm.call @omp_get_num_threads() : () -> i32
// CHECK: arith.divui %[[COUNT]]
// CHECK: arith.remui %[[COUNT]]
// CHECK: scf.for %[[I:.*]] = %[[BEGIN:.*]] to %[[END:.*]] step
// CHECK-NEXT: arith.index_cast %[[I]] : index to i64
// CHECK: arith.mulf %{{.*}}, %[[F]] : f32
// CHECK: func.return
func.func @scale(%x: !llvm.ptr, %n: index, %factor: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  "scf.parallel"(%c0, %n, %c1) <{operandSegmentSizes = array<i32: 1, 1, 1, 0>}> ({
  ^bb0(%i: index):
    %offset = arith.index_cast %i : index to i64
    %address = llvm.getelementptr %x[%offset] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %value = llvm.load %address : !llvm.ptr -> f32
    %scaled = arith.mulf %value, %factor : f32
    llvm.store %scaled, %address : f32, !llvm.ptr
    scf.reduce
  }) : (index, index, index) -> ()
  func.return
}

// -----

// Three dimensions collapse into one: the first has one iteration (no division), the second
// is the remaining quotient, the third (dynamic lower bound and step) the remainder.

// CHECK-LABEL: func.func private @grid_parallel_0
// CHECK: %[[LOWER:.*]] = llvm.load %{{.*}} : !llvm.ptr -> index
// CHECK: %[[STEP:.*]] = llvm.load %{{.*}} : !llvm.ptr -> index
// CHECK: %[[C8:.*]] = arith.constant 8 : index
// CHECK: %[[C16:.*]] = arith.constant 16 : index
// CHECK: %[[DISTANCE:.*]] = arith.subi %[[C16]], %[[LOWER]] : index
// CHECK: %[[INNER:.*]] = arith.ceildivui %{{.*}}, %[[STEP]] : index
// CHECK: scf.for %[[LINEAR:.*]] = %{{.*}} to %{{.*}} step
// CHECK-NEXT: %[[REM:.*]] = arith.remui %[[LINEAR]], %[[INNER]] : index
// CHECK-NEXT: %[[J:.*]] = arith.divui %[[LINEAR]], %[[INNER]] : index
// CHECK-NEXT: %[[SCALED:.*]] = arith.muli %[[REM]], %[[STEP]] : index
// CHECK-NEXT: %[[K:.*]] = arith.addi %[[LOWER]], %[[SCALED]] : index
// CHECK-NEXT: %[[I:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[ROW:.*]] = arith.muli %[[J]], %{{.*}} : index
// CHECK-NEXT: arith.addi %[[ROW]], %[[K]] : index
// CHECK-NOT: arith.divui
// CHECK: arith.index_cast %[[I]] : index to i64
func.func @grid(%out: !llvm.ptr, %lower: index, %step: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  "scf.parallel"(%c0, %c0, %lower, %c1, %c8, %c16, %c1, %c1, %step) <{operandSegmentSizes = array<i32: 3, 3, 3, 0>}> ({
  ^bb0(%i: index, %j: index, %k: index):
    %row = arith.muli %j, %c16 : index
    %flat = arith.addi %row, %k : index
    %offset = arith.index_cast %flat : index to i64
    %address = llvm.getelementptr %out[%offset] : (!llvm.ptr, i64) -> !llvm.ptr, i64
    %value = arith.index_cast %i : index to i64
    llvm.store %value, %address : i64, !llvm.ptr
    scf.reduce
  }) : (index, index, index, index, index, index, index, index, index) -> ()
  func.return
}

// -----

// Inside an scf.for: the struct is allocated once in the entry block, filled and passed on
// every iteration. The nested scf.parallel stays, inside the outlined body, for the
// sequential lowering.

// CHECK-LABEL: func.func @repeated
// CHECK-NEXT: llvm.mlir.constant(1) : i64
// CHECK-NEXT: llvm.alloca
// CHECK-NOT: llvm.alloca
// CHECK: scf.for %[[T:.*]] =
// CHECK: llvm.store %[[T]]
// CHECK: llvm.call @GOMP_parallel
// CHECK-NOT: scf.parallel
// CHECK: func.return
// CHECK-LABEL: func.func private @repeated_parallel_0
// CHECK: scf.for
// CHECK: "scf.parallel"
// CHECK-NOT: GOMP_parallel
// CHECK: func.return
func.func @repeated(%out: !llvm.ptr) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %t = %c0 to %c4 step %c1 {
    "scf.parallel"(%c0, %c4, %c1) <{operandSegmentSizes = array<i32: 1, 1, 1, 0>}> ({
    ^bb0(%i: index):
      "scf.parallel"(%c0, %c4, %c1) <{operandSegmentSizes = array<i32: 1, 1, 1, 0>}> ({
      ^bb1(%j: index):
        %row = arith.muli %i, %c4 : index
        %flat = arith.addi %row, %j : index
        %sum = arith.addi %flat, %t : index
        %offset = arith.index_cast %flat : index to i64
        %value = arith.index_cast %sum : index to i64
        %address = llvm.getelementptr %out[%offset] : (!llvm.ptr, i64) -> !llvm.ptr, i64
        llvm.store %value, %address : i64, !llvm.ptr
        scf.reduce
      }) : (index, index, index) -> ()
      scf.reduce
    }) : (index, index, index) -> ()
  }
  func.return
}

// -----

// A body that captures nothing but constants gets a null data pointer.

// CHECK-LABEL: func.func @nothing_captured
// CHECK-NOT: llvm.alloca
// CHECK: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK: llvm.call @GOMP_parallel(%{{.*}}, %[[NULL]], %{{.*}}, %{{.*}})
func.func @nothing_captured() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  "scf.parallel"(%c0, %c4, %c1) <{operandSegmentSizes = array<i32: 1, 1, 1, 0>}> ({
  ^bb0(%i: index):
    %twice = arith.addi %i, %i : index
    scf.reduce
  }) : (index, index, index) -> ()
  func.return
}
