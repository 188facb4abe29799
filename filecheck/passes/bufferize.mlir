// RUN: terrace-opt %s -p bufferize --split-input-file | filecheck %s

// The signature: inputs, then one output buffer per result, then weights, then the workspace.
// The generic producing the result writes straight into its output buffer.

// CHECK-LABEL: func.func @signature
// CHECK-SAME:  (%[[X:[^:]*]]: memref<2x3xf32>, %[[OUT:[^:]*]]: memref<2x3xf32>, %[[WS:[^:]*]]: memref<0xi8>)
// CHECK-SAME:  attributes {terrace.num_inputs = 1 : i64, terrace.num_outputs = 1 : i64, terrace.weights = [], terrace.workspace_bytes = 0 : i64}
// CHECK-NOT:   memref.alloc
// CHECK:       linalg.generic
// CHECK-SAME:  ins(%[[X]] : memref<2x3xf32>) outs(%[[OUT]] : memref<2x3xf32>)
// CHECK-NOT:   memref.copy
// CHECK:       func.return{{$}}
func.func @signature(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %e = tensor.empty() : tensor<2x3xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<2x3xf32>) outs(%e : tensor<2x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    %c0 = arith.constant 0.0 : f32
    %m = arith.maximumf %a, %c0 : f32
    linalg.yield %m : f32
  } -> tensor<2x3xf32>
  func.return %r : tensor<2x3xf32>
}

// -----

// One argument per distinct weight name; a dense constant becomes a new weight.

// CHECK-LABEL: func.func @weights
// CHECK-SAME:  (%[[X:[^:]*]]: memref<4xf32>, %[[OUT:[^:]*]]: memref<4xf32>, %[[W:[^:]*]]: memref<4xf32>, %[[C:[^:]*]]: memref<4xf32>, %{{.*}}: memref<0xi8>)
// CHECK-SAME:  terrace.weights = ["bias", "constant"]
// CHECK-NOT:   nn.weight
// CHECK-NOT:   dense
// CHECK:       linalg.generic
// CHECK-SAME:  ins(%[[X]], %[[W]], %[[W]], %[[C]] : {{.*}}) outs(%[[OUT]] : memref<4xf32>)
func.func @weights(%x: tensor<4xf32>) -> tensor<4xf32> {
  %w1 = nn.weight "bias" : tensor<4xf32>
  %w2 = nn.weight "bias" : tensor<4xf32>
  %c = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%x, %w1, %w2, %c : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %b: f32, %b2: f32, %k: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    %t = arith.addf %s, %b2 : f32
    %u = arith.mulf %t, %k : f32
    linalg.yield %u : f32
  } -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// -----

// fill then matmul accumulate in place, in the output buffer.

// CHECK-LABEL: func.func @matmul
// CHECK-SAME:  (%[[A:[^:]*]]: memref<2x3xf32>, %[[B:[^:]*]]: memref<3x4xf32>, %[[OUT:[^:]*]]: memref<2x4xf32>
// CHECK:       linalg.fill ins(%{{.*}} : f32) outs(%[[OUT]] : memref<2x4xf32>)
// CHECK-NEXT:  linalg.matmul ins(%[[A]], %[[B]] : memref<2x3xf32>, memref<3x4xf32>) outs(%[[OUT]] : memref<2x4xf32>)
// CHECK-NEXT:  func.return
func.func @matmul(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %m = linalg.matmul ins(%a, %b : tensor<2x3xf32>, tensor<3x4xf32>) outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32>
  func.return %m : tensor<2x4xf32>
}

// -----

// An init still read later is copied before the op writes into it.

// CHECK-LABEL: func.func @init_read_later
// CHECK-SAME:  (%{{[^:]*}}: memref<4xf32>, %[[OUT0:[^:]*]]: memref<4xf32>, %[[OUT1:[^:]*]]: memref<4xf32>
// CHECK:       linalg.fill {{.*}} outs(%[[OUT0]] : memref<4xf32>)
// CHECK-NEXT:  "memref.copy"(%[[OUT0]], %[[OUT1]])
// CHECK-NEXT:  linalg.generic {{.*}} outs(%[[OUT1]] : memref<4xf32>)
func.func @init_read_later(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %f = linalg.fill ins(%one : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%x : tensor<4xf32>) outs(%f : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  func.return %f, %r : tensor<4xf32>, tensor<4xf32>
}

// -----

// Reshapes are views of the same buffer.

// CHECK-LABEL: func.func @reshapes
// CHECK-SAME:  (%[[X:[^:]*]]: memref<2x3xf32>, %[[OUT:[^:]*]]: memref<3x2xf32>
// CHECK:       %[[FLAT:.*]] = memref.collapse_shape %[[X]] {{\[}}[0 : i64, 1 : i64]] : memref<2x3xf32> into memref<6xf32>
// CHECK-NEXT:  %[[VIEW:.*]] = memref.expand_shape %[[FLAT]] {{\[}}[0 : i64, 1 : i64]] output_shape [3, 2] : memref<6xf32> into memref<3x2xf32>
// CHECK-NEXT:  "memref.copy"(%[[VIEW]], %[[OUT]])
func.func @reshapes(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %flat = tensor.collapse_shape %x [[0, 1]] : tensor<2x3xf32> into tensor<6xf32>
  %r = tensor.expand_shape %flat [[0, 1]] output_shape [3, 2] : tensor<6xf32> into tensor<3x2xf32>
  func.return %r : tensor<3x2xf32>
}

// -----

// A slice is copied out of a subview into a contiguous buffer: here, the output buffer.

// CHECK-LABEL: func.func @extract_slice
// CHECK-SAME:  (%[[X:[^:]*]]: memref<4x4xf32>, %[[OUT:[^:]*]]: memref<2x3xf32>
// CHECK:       %[[SUB:.*]] = memref.subview %[[X]][1, 0] [2, 3] [1, 1] : memref<4x4xf32> to memref<2x3xf32, strided<[4, 1], offset: 4>>
// CHECK-NEXT:  "memref.copy"(%[[SUB]], %[[OUT]])
func.func @extract_slice(%x: tensor<4x4xf32>) -> tensor<2x3xf32> {
  %s = tensor.extract_slice %x[1, 0] [2, 3] [1, 1] : tensor<4x4xf32> to tensor<2x3xf32>
  func.return %s : tensor<2x3xf32>
}

// -----

// Padding: empty + fill + insert_slice, all in the output buffer.

// CHECK-LABEL: func.func @pad
// CHECK-SAME:  (%[[X:[^:]*]]: memref<2x2xf32>, %[[OUT:[^:]*]]: memref<4x4xf32>
// CHECK:       linalg.fill {{.*}} outs(%[[OUT]] : memref<4x4xf32>)
// CHECK-NEXT:  %[[SUB:.*]] = memref.subview %[[OUT]][1, 1] [2, 2] [1, 1]
// CHECK-NEXT:  "memref.copy"(%[[X]], %[[SUB]])
func.func @pad(%x: tensor<2x2xf32>) -> tensor<4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  %p = tensor.insert_slice %x into %f[1, 1] [2, 2] [1, 1] : tensor<2x2xf32> into tensor<4x4xf32>
  func.return %p : tensor<4x4xf32>
}

// -----

// A data-dependent read in a generic body becomes a load from the tensor's buffer.

// CHECK-LABEL: func.func @gather
// CHECK-SAME:  (%[[TABLE:[^:]*]]: memref<5xf32>, %[[IDX:[^:]*]]: memref<3xi64>
// CHECK:       linalg.generic
// CHECK:       %[[I:.*]] = arith.index_cast
// CHECK-NEXT:  memref.load %[[TABLE]][%[[I]]] : memref<5xf32>
func.func @gather(%table: tensor<5xf32>, %idx: tensor<3xi64>) -> tensor<3xf32> {
  %e = tensor.empty() : tensor<3xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%idx : tensor<3xi64>) outs(%e : tensor<3xf32>) {
  ^bb0(%i: i64, %o: f32):
    %j = arith.index_cast %i : i64 to index
    %v = tensor.extract %table[%j] : tensor<5xf32>
    linalg.yield %v : f32
  } -> tensor<3xf32>
  func.return %r : tensor<3xf32>
}

// -----

// Results that are an input or a weight unchanged are copied into their output buffers; so is
// a second result of one value.

// CHECK-LABEL: func.func @passthrough
// CHECK-SAME:  (%[[X:[^:]*]]: memref<3xf32>, %[[OUT0:[^:]*]]: memref<3xf32>, %[[OUT1:[^:]*]]: memref<3xf32>, %[[OUT2:[^:]*]]: memref<3xf32>, %[[W:[^:]*]]: memref<3xf32>,
// CHECK:       "memref.copy"(%[[X]], %[[OUT0]])
// CHECK-NEXT:  "memref.copy"(%[[W]], %[[OUT1]])
// CHECK-NEXT:  "memref.copy"(%[[X]], %[[OUT2]])
// CHECK-NEXT:  func.return
func.func @passthrough(%x: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) {
  %w = nn.weight "w" : tensor<3xf32>
  func.return %x, %w, %x : tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
}

// -----

// An intermediate buffer is allocated.

// CHECK-LABEL: func.func @intermediate
// CHECK:       %[[T:.*]] = memref.alloc() : memref<4xf32>
// CHECK-NEXT:  linalg.generic {{.*}} outs(%[[T]] : memref<4xf32>)
// CHECK:       linalg.generic {{.*}} ins(%[[T]] : memref<4xf32>)
func.func @intermediate(%x: tensor<4xf32>) -> tensor<4xf32> {
  %e1 = tensor.empty() : tensor<4xf32>
  %t = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%x : tensor<4xf32>) outs(%e1 : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = math.exp %a : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %e2 = tensor.empty() : tensor<4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%t : tensor<4xf32>) outs(%e2 : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = math.sqrt %a : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// -----

// A tensor.empty shared by two ops is split: each result gets its own (output) buffer.

// CHECK-LABEL: func.func @shared_empty
// CHECK-SAME:  (%[[X:[^:]*]]: memref<4xf32>, %[[OUT0:[^:]*]]: memref<4xf32>, %[[OUT1:[^:]*]]: memref<4xf32>
// CHECK-NOT:   memref.alloc
// CHECK:       linalg.generic {{.*}} ins(%[[X]] : memref<4xf32>) outs(%[[OUT0]] : memref<4xf32>)
// CHECK:       linalg.generic {{.*}} ins(%[[OUT0]] : memref<4xf32>) outs(%[[OUT1]] : memref<4xf32>)
// CHECK-NOT:   memref.copy
func.func @shared_empty(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<4xf32>
  %a = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%i: f32, %o: f32):
    %s = math.exp %i : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %b = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%i: f32, %o: f32):
    %s = math.sqrt %i : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  func.return %a, %b : tensor<4xf32>, tensor<4xf32>
}
