// RUN: terrace-opt %s --split-input-file | filecheck %s
// RUN: terrace-opt %s --split-input-file --print-op-generic | terrace-opt --split-input-file | filecheck %s

// Every nn op of dialects/nn/shape.py prints in its custom format and parses back (first
// RUN), and its generic form parses back to the same ops (second RUN). Result types are checked
// by the verifier against onnx's shape inference, so each case's types are also a shape test,
// worked out by hand from the ONNX operator's definition.

// -1 takes the remaining 24 / 4 = 6; 0 copies the input's dimension.
// CHECK-LABEL: func.func @reshape
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT:    %{{.*}} = nn.reshape %[[X]] {shape = array<i64: 4, -1>} : (tensor<2x3x4xf32>) -> tensor<4x6xf32>
// CHECK-NEXT:    %{{.*}} = nn.reshape %[[X]] {shape = array<i64: 0, 12>} : (tensor<2x3x4xf32>) -> tensor<2x12xf32>
func.func @reshape(%x: tensor<2x3x4xf32>) -> tensor<4x6xf32> {
  %y = nn.reshape %x {shape = array<i64: 4, -1>} : (tensor<2x3x4xf32>) -> tensor<4x6xf32>
  %z = nn.reshape %x {shape = array<i64: 0, 12>} : (tensor<2x3x4xf32>) -> tensor<2x12xf32>
  func.return %y : tensor<4x6xf32>
}

// -----

// CHECK-LABEL: func.func @flatten
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3x4x5xf32>)
// CHECK-NEXT:    %{{.*}} = nn.flatten %[[X]] {axis = 2 : i64} : (tensor<2x3x4x5xf32>) -> tensor<6x20xf32>
func.func @flatten(%x: tensor<2x3x4x5xf32>) -> tensor<6x20xf32> {
  %y = nn.flatten %x {axis = 2 : i64} : (tensor<2x3x4x5xf32>) -> tensor<6x20xf32>
  func.return %y : tensor<6x20xf32>
}

// -----

// CHECK-LABEL: func.func @transpose
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT:    %{{.*}} = nn.transpose %[[X]] {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
func.func @transpose(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %y = nn.transpose %x {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  func.return %y : tensor<4x2x3xf32>
}

// -----

// Unsqueeze's axes index the output: 0 and 3 of a rank-4 result.
// CHECK-LABEL: func.func @squeeze_unsqueeze
// CHECK-SAME:    (%[[X:.*]]: tensor<1x3x1x5xf32>)
// CHECK-NEXT:    %[[SQUEEZED:.*]] = nn.squeeze %[[X]] {axes = array<i64: 0, 2>} : (tensor<1x3x1x5xf32>) -> tensor<3x5xf32>
// CHECK-NEXT:    %{{.*}} = nn.unsqueeze %[[SQUEEZED]] {axes = array<i64: 0, 3>} : (tensor<3x5xf32>) -> tensor<1x3x5x1xf32>
func.func @squeeze_unsqueeze(%x: tensor<1x3x1x5xf32>) -> tensor<1x3x5x1xf32> {
  %squeezed = nn.squeeze %x {axes = array<i64: 0, 2>} : (tensor<1x3x1x5xf32>) -> tensor<3x5xf32>
  %y = nn.unsqueeze %squeezed {axes = array<i64: 0, 3>} : (tensor<3x5xf32>) -> tensor<1x3x5x1xf32>
  func.return %y : tensor<1x3x5x1xf32>
}

// -----

// CHECK-LABEL: func.func @expand_tile
// CHECK-SAME:    (%[[COL:[^:]*]]: tensor<3x1xf32>, %[[X:[^:]*]]: tensor<2x3xf32>)
// CHECK-NEXT:    %{{.*}} = nn.expand %[[COL]] {shape = array<i64: 2, 1, 6>} : (tensor<3x1xf32>) -> tensor<2x3x6xf32>
// CHECK-NEXT:    %{{.*}} = nn.tile %[[X]] {repeats = array<i64: 2, 2>} : (tensor<2x3xf32>) -> tensor<4x6xf32>
func.func @expand_tile(%col: tensor<3x1xf32>, %x: tensor<2x3xf32>) -> tensor<4x6xf32> {
  %expanded = nn.expand %col {shape = array<i64: 2, 1, 6>} : (tensor<3x1xf32>) -> tensor<2x3x6xf32>
  %tiled = nn.tile %x {repeats = array<i64: 2, 2>} : (tensor<2x3xf32>) -> tensor<4x6xf32>
  func.return %tiled : tensor<4x6xf32>
}

// -----

// range(1, 9, 2) has 4 elements, range(0, 20, 5) has 4.
// CHECK-LABEL: func.func @slice
// CHECK-SAME:    (%[[X:.*]]: tensor<10x20xf32>)
// CHECK-NEXT:    %{{.*}} = nn.slice %[[X]] {starts = array<i64: 1, 0>, ends = array<i64: 9, 20>, axes = array<i64: 0, 1>, steps = array<i64: 2, 5>} : (tensor<10x20xf32>) -> tensor<4x4xf32>
func.func @slice(%x: tensor<10x20xf32>) -> tensor<4x4xf32> {
  %y = nn.slice %x {starts = array<i64: 1, 0>, ends = array<i64: 9, 20>, axes = array<i64: 0, 1>, steps = array<i64: 2, 5>} : (tensor<10x20xf32>) -> tensor<4x4xf32>
  func.return %y : tensor<4x4xf32>
}

// -----

// pads are all the begins, then all the ends: H grows by 1 + 1, W by 2 + 2.
// CHECK-LABEL: func.func @pad
// CHECK-SAME:    (%[[X:[^:]*]]: tensor<1x3x4x4xf32>, %[[M:[^:]*]]: tensor<3x4xf32>)
// CHECK-NEXT:    %{{.*}} = nn.pad %[[X]] {pads = array<i64: 0, 0, 1, 2, 0, 0, 1, 2>, constant_value = 5.000000e-01 : f64} : (tensor<1x3x4x4xf32>) -> tensor<1x3x6x8xf32>
// CHECK-NEXT:    %{{.*}} = nn.pad %[[M]] {mode = "reflect", pads = array<i64: 0, 1, 0, 1>} : (tensor<3x4xf32>) -> tensor<3x6xf32>
func.func @pad(%x: tensor<1x3x4x4xf32>, %m: tensor<3x4xf32>) -> tensor<1x3x6x8xf32> {
  %y = nn.pad %x {pads = array<i64: 0, 0, 1, 2, 0, 0, 1, 2>, constant_value = 0.5 : f64} : (tensor<1x3x4x4xf32>) -> tensor<1x3x6x8xf32>
  %r = nn.pad %m {mode = "reflect", pads = array<i64: 0, 1, 0, 1>} : (tensor<3x4xf32>) -> tensor<3x6xf32>
  func.return %y : tensor<1x3x6x8xf32>
}

// -----

// CHECK-LABEL: func.func @concat
// CHECK-SAME:    (%[[A:[^:]*]]: tensor<2x3xf32>, %[[B:[^:]*]]: tensor<2x5xf32>)
// CHECK-NEXT:    %{{.*}} = nn.concat %[[A]], %[[B]] {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
func.func @concat(%a: tensor<2x3xf32>, %b: tensor<2x5xf32>) -> tensor<2x8xf32> {
  %y = nn.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
  func.return %y : tensor<2x8xf32>
}

// -----

// CHECK-LABEL: func.func @split
// CHECK-SAME:    (%[[X:.*]]: tensor<2x6xf32>)
// CHECK-NEXT:    %[[P:.*]], %[[Q:.*]] = nn.split %[[X]] {axis = 1 : i64, split = array<i64: 2, 4>} : (tensor<2x6xf32>) -> (tensor<2x2xf32>, tensor<2x4xf32>)
// CHECK-NEXT:    %{{.*}}, %{{.*}}, %{{.*}} = nn.split %[[X]] {axis = 1 : i64, num_outputs = 3 : i64} : (tensor<2x6xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>)
// CHECK-NEXT:    func.return %[[Q]] : tensor<2x4xf32>
func.func @split(%x: tensor<2x6xf32>) -> tensor<2x4xf32> {
  %parts:2 = nn.split %x {axis = 1 : i64, split = array<i64: 2, 4>} : (tensor<2x6xf32>) -> (tensor<2x2xf32>, tensor<2x4xf32>)
  %thirds:3 = nn.split %x {axis = 1 : i64, num_outputs = 3 : i64} : (tensor<2x6xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>)
  func.return %parts#1 : tensor<2x4xf32>
}

// -----

// Gathering rows (axis 0) by a 2x3 index tensor: indices' shape replaces the axis.
// CHECK-LABEL: func.func @gather
// CHECK-SAME:    (%[[DATA:[^:]*]]: tensor<5x4xf32>, %[[INDICES:[^:]*]]: tensor<2x3xi64>)
// CHECK-NEXT:    %{{.*}} = nn.gather %[[DATA]], %[[INDICES]] {axis = 0 : i64} : (tensor<5x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32>
func.func @gather(%data: tensor<5x4xf32>, %indices: tensor<2x3xi64>) -> tensor<2x3x4xf32> {
  %y = nn.gather %data, %indices {axis = 0 : i64} : (tensor<5x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32>
  func.return %y : tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func.func @scatter
// CHECK-NEXT:    %{{.*}} = nn.scatter_elements %{{.*}}, %{{.*}}, %{{.*}} {axis = 1 : i64, reduction = "max"} : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf32>) -> tensor<3x4xf32>
// CHECK-NEXT:    %{{.*}} = nn.scatter_nd %{{.*}}, %{{.*}}, %{{.*}} : (tensor<3x4xf32>, tensor<2x2xi64>, tensor<2xf32>) -> tensor<3x4xf32>
func.func @scatter(%data: tensor<3x4xf32>, %i: tensor<3x2xi64>, %u: tensor<3x2xf32>, %j: tensor<2x2xi64>, %v: tensor<2xf32>) -> tensor<3x4xf32> {
  %a = nn.scatter_elements %data, %i, %u {axis = 1 : i64, reduction = "max"} : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf32>) -> tensor<3x4xf32>
  %b = nn.scatter_nd %a, %j, %v : (tensor<3x4xf32>, tensor<2x2xi64>, tensor<2xf32>) -> tensor<3x4xf32>
  func.return %b : tensor<3x4xf32>
}

// -----

// GatherND: index vectors of 2 pick 3x4 positions; with batch_dims 1, per batch.
// CHECK-LABEL: func.func @gather_nd
// CHECK-NEXT:    %{{.*}} = nn.gather_nd %{{.*}}, %{{.*}} : (tensor<3x4x2xf32>, tensor<5x2xi64>) -> tensor<5x2xf32>
// CHECK-NEXT:    %{{.*}} = nn.gather_nd %{{.*}}, %{{.*}} {batch_dims = 1 : i64} : (tensor<3x4x2xf32>, tensor<3x1xi64>) -> tensor<3x2xf32>
func.func @gather_nd(%data: tensor<3x4x2xf32>, %i: tensor<5x2xi64>, %j: tensor<3x1xi64>) -> tensor<5x2xf32> {
  %a = nn.gather_nd %data, %i : (tensor<3x4x2xf32>, tensor<5x2xi64>) -> tensor<5x2xf32>
  %b = nn.gather_nd %data, %j {batch_dims = 1 : i64} : (tensor<3x4x2xf32>, tensor<3x1xi64>) -> tensor<3x2xf32>
  func.return %a : tensor<5x2xf32>
}

// -----

// GatherElements: the result has the indices' shape.
// CHECK-LABEL: func.func @gather_elements
// CHECK-NEXT:    %{{.*}} = nn.gather_elements %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<5x4xf32>, tensor<2x7xi32>) -> tensor<2x7xf32>
func.func @gather_elements(%data: tensor<5x4xf32>, %indices: tensor<2x7xi32>) -> tensor<2x7xf32> {
  %y = nn.gather_elements %data, %indices {axis = 1 : i64} : (tensor<5x4xf32>, tensor<2x7xi32>) -> tensor<2x7xf32>
  func.return %y : tensor<2x7xf32>
}

// -----

// CHECK-LABEL: func.func @shape
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT:    %{{.*}} = nn.shape %[[X]] : (tensor<2x3x4xf32>) -> tensor<3xi64>
// CHECK-NEXT:    %{{.*}} = nn.shape %[[X]] {start = 1 : i64} : (tensor<2x3x4xf32>) -> tensor<2xi64>
func.func @shape(%x: tensor<2x3x4xf32>) -> tensor<3xi64> {
  %all = nn.shape %x : (tensor<2x3x4xf32>) -> tensor<3xi64>
  %tail = nn.shape %x {start = 1 : i64} : (tensor<2x3x4xf32>) -> tensor<2xi64>
  func.return %all : tensor<3xi64>
}

// -----

// CHECK-LABEL: func.func @resize
// CHECK-SAME:    (%[[X:.*]]: tensor<1x1x4x4xf32>)
// CHECK-NEXT:    %{{.*}} = nn.resize %[[X]] {mode = "linear", scales = [1.000000e+00 : f64, 1.000000e+00 : f64, 2.000000e+00 : f64, 2.000000e+00 : f64]} : (tensor<1x1x4x4xf32>) -> tensor<1x1x8x8xf32>
// CHECK-NEXT:    %{{.*}} = nn.resize %[[X]] {sizes = array<i64: 1, 1, 3, 5>} : (tensor<1x1x4x4xf32>) -> tensor<1x1x3x5xf32>
func.func @resize(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x8x8xf32> {
  %up = nn.resize %x {mode = "linear", scales = [1.0 : f64, 1.0 : f64, 2.0 : f64, 2.0 : f64]} : (tensor<1x1x4x4xf32>) -> tensor<1x1x8x8xf32>
  %sized = nn.resize %x {sizes = array<i64: 1, 1, 3, 5>} : (tensor<1x1x4x4xf32>) -> tensor<1x1x3x5xf32>
  func.return %up : tensor<1x1x8x8xf32>
}

// -----

// CHECK-LABEL: func.func @one_hot
// CHECK-SAME:    (%[[I:.*]]: tensor<2x3xi64>, %[[V:.*]]: tensor<2xf32>)
// CHECK-NEXT:    %{{.*}} = nn.one_hot %[[I]], %[[V]] {depth = 4 : i64, axis = 1 : i64} : (tensor<2x3xi64>, tensor<2xf32>) -> tensor<2x4x3xf32>
func.func @one_hot(%i: tensor<2x3xi64>, %v: tensor<2xf32>) -> tensor<2x4x3xf32> {
  %r = nn.one_hot %i, %v {depth = 4 : i64, axis = 1 : i64} : (tensor<2x3xi64>, tensor<2xf32>) -> tensor<2x4x3xf32>
  func.return %r : tensor<2x4x3xf32>
}
