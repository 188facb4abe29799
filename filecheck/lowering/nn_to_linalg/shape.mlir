// RUN: terrace-opt %s -p convert-nn-to-linalg --split-input-file | filecheck %s

// CHECK-LABEL: func.func @reshape_expand
// CHECK-SAME:    (%[[X:.*]]: tensor<6x4xf32>)
// CHECK-NEXT:    %[[R:.*]] = tensor.expand_shape %[[X]] {{\[}}[0 : i64, 1 : i64], [2 : i64]] output_shape [2, 3, 4]
// CHECK-NEXT:    func.return %[[R]]
func.func @reshape_expand(%x: tensor<6x4xf32>) -> tensor<2x3x4xf32> {
  %r = nn.reshape %x {shape = array<i64: 2, 3, 4>} : (tensor<6x4xf32>) -> tensor<2x3x4xf32>
  func.return %r : tensor<2x3x4xf32>
}

// -----

// A reshape with no reassociation goes through 1-d.
// CHECK-LABEL: func.func @reshape_general
// CHECK:         %[[FLAT:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0 : i64, 1 : i64, 2 : i64]] : tensor<2x3x4xf32> into tensor<24xf32>
// CHECK-NEXT:    tensor.expand_shape %[[FLAT]] {{.*}} : tensor<24xf32> into tensor<4x6xf32>
func.func @reshape_general(%x: tensor<2x3x4xf32>) -> tensor<4x6xf32> {
  %r = nn.reshape %x {shape = array<i64: 4, 6>} : (tensor<2x3x4xf32>) -> tensor<4x6xf32>
  func.return %r : tensor<4x6xf32>
}

// -----

// CHECK-LABEL: func.func @squeeze_is_a_collapse
// CHECK:         tensor.collapse_shape %{{.*}} {{\[}}[0 : i64, 1 : i64], [2 : i64, 3 : i64]] : tensor<1x3x1x2xf32> into tensor<3x2xf32>
func.func @squeeze_is_a_collapse(%x: tensor<1x3x1x2xf32>) -> tensor<3x2xf32> {
  %r = nn.squeeze %x {axes = array<i64: 0, 2>} : (tensor<1x3x1x2xf32>) -> tensor<3x2xf32>
  func.return %r : tensor<3x2xf32>
}

// -----

// CHECK-LABEL: func.func @identity_reshape
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NEXT:    func.return %[[X]]
func.func @identity_reshape(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %r = nn.reshape %x {shape = array<i64: 2, 3>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %r : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @transpose
// CHECK:         %[[INIT:.*]] = tensor.empty() : tensor<4x2x3xf32>
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d1, d2, d0)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>]
// CHECK-SAME:      outs(%[[INIT]] : tensor<4x2x3xf32>)
func.func @transpose(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %r = nn.transpose %x {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  func.return %r : tensor<4x2x3xf32>
}

// -----

// CHECK-LABEL: func.func @expand
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d1, 0)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>]
func.func @expand(%x: tensor<3x1xf32>) -> tensor<2x3x4xf32> {
  %r = nn.expand %x {shape = array<i64: 2, 3, 4>} : (tensor<3x1xf32>) -> tensor<2x3x4xf32>
  func.return %r : tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func.func @tile
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1) -> ((d0 mod 2), d1)>, affine_map<(d0, d1) -> (d0, d1)>]
func.func @tile(%x: tensor<2x3xf32>) -> tensor<4x3xf32> {
  %r = nn.tile %x {repeats = array<i64: 2, 1>} : (tensor<2x3xf32>) -> tensor<4x3xf32>
  func.return %r : tensor<4x3xf32>
}

// -----

// CHECK-LABEL: func.func @slice
// CHECK:         tensor.extract_slice %{{.*}}[1, 0] [2, 2] [1, 2] : tensor<3x4xf32> to tensor<2x2xf32>
func.func @slice(%x: tensor<3x4xf32>) -> tensor<2x2xf32> {
  %r = nn.slice %x {starts = array<i64: 1, 0>, ends = array<i64: 3, 4>, steps = array<i64: 1, 2>} : (tensor<3x4xf32>) -> tensor<2x2xf32>
  func.return %r : tensor<2x2xf32>
}

// -----

// A negative step walks the axis backwards in the input map.
// CHECK-LABEL: func.func @slice_negative_step
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0) -> (((d0 * -2) + 4))>, affine_map<(d0) -> (d0)>]
func.func @slice_negative_step(%x: tensor<5xf32>) -> tensor<2xf32> {
  %r = nn.slice %x {starts = array<i64: 4>, ends = array<i64: 0>, steps = array<i64: -2>} : (tensor<5xf32>) -> tensor<2xf32>
  func.return %r : tensor<2xf32>
}

// -----

// The positive-step axes are cut first: the generic's map then reads them as lone loop
// dimensions of one size in input and output, as linalg's verifier requires.
// CHECK-LABEL: func.func @slice_negative_step_beside_shorter_axis
// CHECK:         %[[CUT:.*]] = tensor.extract_slice %{{.*}}[0, 0] [3, 2] [1, 1] : tensor<3x4xf32> to tensor<3x2xf32>
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (((d0 * -2) + 2), d1)>, affine_map<(d0, d1) -> (d0, d1)>]
// CHECK-SAME:        ins(%[[CUT]] : tensor<3x2xf32>)
func.func @slice_negative_step_beside_shorter_axis(%x: tensor<3x4xf32>) -> tensor<2x2xf32> {
  %r = nn.slice %x {starts = array<i64: 2, 0>, ends = array<i64: -100, 2>, steps = array<i64: -2, 1>} : (tensor<3x4xf32>) -> tensor<2x2xf32>
  func.return %r : tensor<2x2xf32>
}

// -----

// Negative pads crop first; constant padding is empty + fill + insert_slice.
// CHECK-LABEL: func.func @pad_constant
// CHECK:         %[[CROP:.*]] = tensor.extract_slice %{{.*}}[1, 0] [2, 4] [1, 1] : tensor<3x4xf32> to tensor<2x4xf32>
// CHECK:         %[[VALUE:.*]] = arith.constant 1.500000e+00 : f32
// CHECK:         %[[FILL:.*]] = linalg.fill ins(%[[VALUE]] : f32) outs(%{{.*}} : tensor<2x7xf32>)
// CHECK:         tensor.insert_slice %[[CROP]] into %[[FILL]][0, 2] [2, 4] [1, 1]
func.func @pad_constant(%x: tensor<3x4xf32>) -> tensor<2x7xf32> {
  %r = nn.pad %x {pads = array<i64: -1, 2, 0, 1>, constant_value = 1.5 : f64} : (tensor<3x4xf32>) -> tensor<2x7xf32>
  func.return %r : tensor<2x7xf32>
}

// -----

// CHECK-LABEL: func.func @pad_edge
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} outs(
// CHECK:           %[[I:.*]] = linalg.index 0 : index
// CHECK:           %[[J:.*]] = arith.subi %[[I]], %{{.*}} : index
// CHECK:           %[[LOW:.*]] = arith.maxsi %[[J]], %{{.*}} : index
// CHECK:           %[[K:.*]] = arith.minsi %[[LOW]], %{{.*}} : index
// CHECK:           tensor.extract %{{.*}}[%[[K]]] : tensor<3xf32>
func.func @pad_edge(%x: tensor<3xf32>) -> tensor<6xf32> {
  %r = nn.pad %x {mode = "edge", pads = array<i64: 1, 2>} : (tensor<3xf32>) -> tensor<6xf32>
  func.return %r : tensor<6xf32>
}

// -----

// CHECK-LABEL: func.func @concat
// CHECK-SAME:    (%[[A:.*]]: tensor<2x1xf32>, %[[B:.*]]: tensor<2x3xf32>)
// CHECK:         %[[INIT:.*]] = tensor.empty() : tensor<2x4xf32>
// CHECK-NEXT:    %[[FIRST:.*]] = tensor.insert_slice %[[A]] into %[[INIT]][0, 0] [2, 1] [1, 1]
// CHECK-NEXT:    tensor.insert_slice %[[B]] into %[[FIRST]][0, 1] [2, 3] [1, 1]
func.func @concat(%a: tensor<2x1xf32>, %b: tensor<2x3xf32>) -> tensor<2x4xf32> {
  %r = nn.concat %a, %b {axis = 1 : i64} : (tensor<2x1xf32>, tensor<2x3xf32>) -> tensor<2x4xf32>
  func.return %r : tensor<2x4xf32>
}

// -----

// CHECK-LABEL: func.func @split
// CHECK:         %[[P0:.*]] = tensor.extract_slice %{{.*}}[0, 0] [2, 1] [1, 1] : tensor<2x3xf32> to tensor<2x1xf32>
// CHECK:         %[[P1:.*]] = tensor.extract_slice %{{.*}}[0, 1] [2, 2] [1, 1] : tensor<2x3xf32> to tensor<2x2xf32>
// CHECK:         func.return %[[P0]], %[[P1]]
func.func @split(%x: tensor<2x3xf32>) -> (tensor<2x1xf32>, tensor<2x2xf32>) {
  %r:2 = nn.split %x {axis = 1 : i64, split = array<i64: 1, 2>} : (tensor<2x3xf32>) -> (tensor<2x1xf32>, tensor<2x2xf32>)
  func.return %r#0, %r#1 : tensor<2x1xf32>, tensor<2x2xf32>
}

// -----

// flatten and unsqueeze only regroup dims: a collapse and an expand, no copy.
// CHECK-LABEL: func.func @flatten
// CHECK:         %[[R:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0 : i64], [1 : i64, 2 : i64]] : tensor<2x3x4xf32> into tensor<2x12xf32>
// CHECK-NEXT:    func.return %[[R]]
func.func @flatten(%x: tensor<2x3x4xf32>) -> tensor<2x12xf32> {
  %r = nn.flatten %x {axis = 1 : i64} : (tensor<2x3x4xf32>) -> tensor<2x12xf32>
  func.return %r : tensor<2x12xf32>
}

// -----

// CHECK-LABEL: func.func @unsqueeze
// CHECK:         %[[R:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0 : i64, 1 : i64], [2 : i64, 3 : i64]] output_shape [1, 3, 2, 1] : tensor<3x2xf32> into tensor<1x3x2x1xf32>
// CHECK-NEXT:    func.return %[[R]]
func.func @unsqueeze(%x: tensor<3x2xf32>) -> tensor<1x3x2x1xf32> {
  %r = nn.unsqueeze %x {axes = array<i64: 0, 3>} : (tensor<3x2xf32>) -> tensor<1x3x2x1xf32>
  func.return %r : tensor<1x3x2x1xf32>
}
