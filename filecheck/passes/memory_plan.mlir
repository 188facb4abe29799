// RUN: terrace-opt %s -p memory-plan --split-input-file | filecheck %s
// RUN: terrace-opt %s -p 'memory-plan{alignment=16}' --split-input-file | filecheck %s --check-prefix=ALIGN16

// A chain x -> t0 -> t1 -> t2 -> out: t0 and t2 are never live together and share offset 0.
// 40-byte buffers at 64-byte alignment: t0 at 0, t1 at 64, t2 at 0, 104 bytes in all.

// CHECK-LABEL: func.func @chain
// CHECK-SAME:  %[[WS:[^:]*]]: memref<104xi8>)
// CHECK-SAME:  terrace.workspace_bytes = 104 : i64
// CHECK-NOT:   memref.alloc
// CHECK:       %[[O0:.*]] = arith.constant 0 : index
// CHECK-NEXT:  %[[T0:.*]] = memref.view %[[WS]][%[[O0]]][] : memref<104xi8> to memref<10xf32>
// CHECK:       %[[O1:.*]] = arith.constant 64 : index
// CHECK-NEXT:  %[[T1:.*]] = memref.view %[[WS]][%[[O1]]][] : memref<104xi8> to memref<10xf32>
// CHECK-NEXT:  linalg.generic {{.*}} ins(%[[T0]] : memref<10xf32>) outs(%[[T1]] : memref<10xf32>)
// CHECK:       %[[O2:.*]] = arith.constant 0 : index
// CHECK-NEXT:  %[[T2:.*]] = memref.view %[[WS]][%[[O2]]][] : memref<104xi8> to memref<10xf32>
// CHECK-NEXT:  linalg.generic {{.*}} ins(%[[T1]] : memref<10xf32>) outs(%[[T2]] : memref<10xf32>)

// ALIGN16-LABEL: func.func @chain
// ALIGN16-SAME:  memref<88xi8>)
// ALIGN16:       arith.constant 48 : index
#id = affine_map<(d0) -> (d0)>
func.func @chain(%x: memref<10xf32>, %out: memref<10xf32>, %workspace: memref<0xi8>) attributes {terrace.num_inputs = 1 : i64, terrace.num_outputs = 1 : i64, terrace.weights = [], terrace.workspace_bytes = 0 : i64} {
  %t0 = memref.alloc() : memref<10xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%x : memref<10xf32>) outs(%t0 : memref<10xf32>) {
  ^bb0(%a: f32, %o: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  %t1 = memref.alloc() : memref<10xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%t0 : memref<10xf32>) outs(%t1 : memref<10xf32>) {
  ^bb0(%a: f32, %o: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  %t2 = memref.alloc() : memref<10xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%t1 : memref<10xf32>) outs(%t2 : memref<10xf32>) {
  ^bb0(%a: f32, %o: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  "memref.copy"(%t2, %out) : (memref<10xf32>, memref<10xf32>) -> ()
  func.return
}

// -----

// A use through a view keeps the buffer live: %t0 is read through %flat after %t1 is made, so
// the two do not share bytes. Deallocs are removed.

// CHECK-LABEL: func.func @use_through_view
// CHECK-SAME:  memref<128xi8>)
// CHECK:       arith.constant 0 : index
// CHECK:       arith.constant 64 : index
// CHECK-NOT:   memref.dealloc
// CHECK:       func.return
func.func @use_through_view(%x: memref<2x8xf32>, %out: memref<16xf32>, %workspace: memref<0xi8>) attributes {terrace.num_inputs = 1 : i64, terrace.num_outputs = 1 : i64, terrace.weights = [], terrace.workspace_bytes = 0 : i64} {
  %t0 = memref.alloc() : memref<2x8xf32>
  "memref.copy"(%x, %t0) : (memref<2x8xf32>, memref<2x8xf32>) -> ()
  %flat = memref.collapse_shape %t0 [[0, 1]] : memref<2x8xf32> into memref<16xf32>
  %t1 = memref.alloc() : memref<2x8xf32>
  "memref.copy"(%x, %t1) : (memref<2x8xf32>, memref<2x8xf32>) -> ()
  "memref.copy"(%flat, %out) : (memref<16xf32>, memref<16xf32>) -> ()
  memref.dealloc %t1 : memref<2x8xf32>
  func.return
}

// -----

// No intermediate buffers: an empty workspace.

// CHECK-LABEL: func.func @no_buffers
// CHECK-SAME:  memref<0xi8>)
// CHECK-SAME:  terrace.workspace_bytes = 0 : i64
func.func @no_buffers(%x: memref<4xf32>, %out: memref<4xf32>, %workspace: memref<0xi8>) attributes {terrace.num_inputs = 1 : i64, terrace.num_outputs = 1 : i64, terrace.weights = [], terrace.workspace_bytes = 0 : i64} {
  "memref.copy"(%x, %out) : (memref<4xf32>, memref<4xf32>) -> ()
  func.return
}
