// RUN: terrace-opt %s --split-input-file --verify-diagnostics | filecheck %s

// Each case breaks one rule of the nn verifier; the diagnostic names the op and the rule.

// 8x8 input, 3x3 kernel, no padding: the result is 6x6, not 8x8.
// CHECK: does not verify: nn.conv: result #0 has type tensor<1x4x8x8xf32>, but its operands and attributes give tensor<1x4x6x6xf32>
// CHECK-NEXT: at: %{{.*}} = nn.conv
func.func @conv_wrong_result_shape(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32> {
  %y = nn.conv %x, %w : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  func.return %y : tensor<1x4x8x8xf32>
}

// -----

// CHECK: does not verify: nn.cast: result #0 has type tensor<2x3xf32>, but its operands and attributes give tensor<2x3xf16>
func.func @cast_wrong_element_type(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %y = nn.cast %x {to = 10 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %y : tensor<2x3xf32>
}

// -----

// CHECK: does not verify: MatMul: {{.*}}Incompatible dimensions
func.func @matmul_inner_dimensions_differ(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  %y = nn.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  func.return %y : tensor<2x5xf32>
}

// -----

// CHECK: does not verify: nn.reshape needs attribute 'shape'
func.func @reshape_without_shape(%x: tensor<2x3xf32>) -> tensor<6xf32> {
  %y = nn.reshape %x : (tensor<2x3xf32>) -> tensor<6xf32>
  func.return %y : tensor<6xf32>
}

// -----

// CHECK: does not verify: nn.lrn needs attribute 'size'
func.func @lrn_without_size(%x: tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32> {
  %y = nn.lrn %x {alpha = 1.0e-4 : f64} : (tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32>
  func.return %y : tensor<1x4x5x5xf32>
}

// -----

// CHECK: does not verify: nn.softmax: attribute 'axis' should be int, got 1.000000e+00 : f64
func.func @softmax_float_axis(%x: tensor<2x10xf32>) -> tensor<2x10xf32> {
  %y = nn.softmax %x {axis = 1.0 : f64} : (tensor<2x10xf32>) -> tensor<2x10xf32>
  func.return %y : tensor<2x10xf32>
}

// -----

// ints attributes are array<i64: ...>, not lists of integers.
// CHECK: does not verify: nn.conv: attribute 'strides' should be ints, got [2 : i64, 2 : i64]
func.func @conv_strides_as_list(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x3x3xf32> {
  %y = nn.conv %x, %w {strides = [2 : i64, 2 : i64]} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x3x3xf32>
  func.return %y : tensor<1x4x3x3xf32>
}

// -----

// CHECK: does not verify: nn.resize: attribute 'mode' should be string, got 1 : i64
func.func @resize_mode_as_int(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x8x8xf32> {
  %y = nn.resize %x {mode = 1 : i64, scales = [1.0 : f64, 1.0 : f64, 2.0 : f64, 2.0 : f64]} : (tensor<1x1x4x4xf32>) -> tensor<1x1x8x8xf32>
  func.return %y : tensor<1x1x8x8xf32>
}

// -----

// In the generic format the parser builds the op as written, so the verifier sees the scalar.
// (In the custom format the same mistake is a parse error at the op's line.)
// CHECK: does not verify: operand 'X' at position 0 does not verify:
// CHECK-NEXT: f32 should be of base attribute tensor
// CHECK-NEXT: at: %{{.*}} = nn.relu %{{.*}} : (f32) -> f32
func.func @relu_of_scalar(%x: f32) -> f32 {
  %y = "nn.relu"(%x) : (f32) -> f32
  func.return %y : f32
}

// -----

// CHECK: does not verify: nn.weight needs a non-empty name
func.func @weight_without_name() -> tensor<4xf32> {
  %w = nn.weight "" : tensor<4xf32>
  func.return %w : tensor<4xf32>
}

// -----

// CHECK: nn.range_check's range [3, 1] is empty
func.func @range_check_empty_range(%x: tensor<2xi64>) -> tensor<2xi64> {
  %r = nn.range_check %x {operand = "sequence_lens", op_type = "ReverseSequence", low = 3 : i64, high = 1 : i64} : tensor<2xi64>
  func.return %r : tensor<2xi64>
}
