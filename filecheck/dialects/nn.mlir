// RUN: terrace-opt %s --split-input-file | filecheck %s
// RUN: terrace-opt %s --split-input-file --print-op-generic | terrace-opt --split-input-file | filecheck %s
// RUN: terrace-opt %s --split-input-file --print-op-generic | filecheck %s --check-prefix=GENERIC

// Every nn op prints in its custom format and parses back (first RUN), and its generic form
// parses back to the same ops (second RUN). Result types are checked by the verifier against
// onnx's shape inference, so each case's types are also a shape test, worked out by hand from
// the ONNX operator's definition.

// -- elementwise, unary --------------------------------------------------------------------

// CHECK-LABEL: func.func @unary_float
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NEXT:    %[[V0:.*]] = nn.identity %[[X]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V1:.*]] = nn.relu %[[V0]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V2:.*]] = nn.sigmoid %[[V1]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V3:.*]] = nn.tanh %[[V2]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V4:.*]] = nn.erf %[[V3]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V5:.*]] = nn.sqrt %[[V4]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V6:.*]] = nn.exp %[[V5]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V7:.*]] = nn.log %[[V6]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V8:.*]] = nn.neg %[[V7]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V9:.*]] = nn.abs %[[V8]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V10:.*]] = nn.floor %[[V9]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V11:.*]] = nn.ceil %[[V10]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[V12:.*]] = nn.reciprocal %[[V11]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[V12]] : tensor<2x3xf32>
// GENERIC-LABEL: "func.func"
// GENERIC:       "nn.identity"(%{{.*}}) : (tensor<2x3xf32>) -> tensor<2x3xf32>
func.func @unary_float(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %identity = nn.identity %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %relu = nn.relu %identity : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %sigmoid = nn.sigmoid %relu : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %tanh = nn.tanh %sigmoid : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %erf = nn.erf %tanh : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %sqrt = nn.sqrt %erf : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %exp = nn.exp %sqrt : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %log = nn.log %exp : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %neg = nn.neg %log : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %abs = nn.abs %neg : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %floor = nn.floor %abs : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %ceil = nn.ceil %floor : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %reciprocal = nn.reciprocal %ceil : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %reciprocal : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @not
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3xi1>)
// CHECK-NEXT:    %{{.*}} = nn.not %[[X]] : (tensor<2x3xi1>) -> tensor<2x3xi1>
func.func @not(%x: tensor<2x3xi1>) -> tensor<2x3xi1> {
  %y = nn.not %x : (tensor<2x3xi1>) -> tensor<2x3xi1>
  func.return %y : tensor<2x3xi1>
}

// -----

// CHECK-LABEL: func.func @activations_with_attributes
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NEXT:    %[[LEAKY:.*]] = nn.leaky_relu %[[X]] {alpha = 2.000000e-01 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[ELU:.*]] = nn.elu %[[LEAKY]] {alpha = 5.000000e-01 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[GELU:.*]] = nn.gelu %[[ELU]] {approximate = "tanh"} : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[DROP:.*]] = nn.dropout %[[GELU]] {seed = 7 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[DROP]]
func.func @activations_with_attributes(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %leaky = nn.leaky_relu %x {alpha = 0.2 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %elu = nn.elu %leaky {alpha = 0.5 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %gelu = nn.gelu %elu {approximate = "tanh"} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %dropout = nn.dropout %gelu {seed = 7 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %dropout : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @clip
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NEXT:    %[[RELU6:.*]] = nn.clip %[[X]] {min = 0.000000e+00 : f64, max = 6.000000e+00 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %{{.*}} = nn.clip %[[RELU6]] {max = 1.000000e+00 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
func.func @clip(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %relu6 = nn.clip %x {min = 0.0 : f64, max = 6.0 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %upper = nn.clip %relu6 {max = 1.0 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %upper : tensor<2x3xf32>
}

// -----

// Cast's `to` is an ONNX TensorProto.DataType: 10 is FLOAT16, 7 is INT64.
// CHECK-LABEL: func.func @cast
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NEXT:    %{{.*}} = nn.cast %[[X]] {to = 10 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf16>
// CHECK-NEXT:    %{{.*}} = nn.cast %[[X]] {to = 7 : i64, saturate = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xi64>
func.func @cast(%x: tensor<2x3xf32>) -> tensor<2x3xf16> {
  %half = nn.cast %x {to = 10 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf16>
  %long = nn.cast %x {to = 7 : i64, saturate = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xi64>
  func.return %half : tensor<2x3xf16>
}

// -- elementwise, binary (numpy broadcasting) ----------------------------------------------

// CHECK-LABEL: func.func @arithmetic
// CHECK-SAME:    (%[[A:[^:]*]]: tensor<2x3xf32>, %[[B:[^:]*]]: tensor<3xf32>, %[[C:[^:]*]]: tensor<2x1x4xf32>, %[[D:[^:]*]]: tensor<3x1xf32>, %[[S:[^:]*]]: tensor<f32>)
// CHECK-NEXT:    %[[ADD:.*]] = nn.add %[[A]], %[[B]] : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %{{.*}} = nn.sub %[[C]], %[[D]] : (tensor<2x1x4xf32>, tensor<3x1xf32>) -> tensor<2x3x4xf32>
// CHECK-NEXT:    %[[MUL:.*]] = nn.mul %[[ADD]], %[[A]] : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[DIV:.*]] = nn.div %[[B]], %[[MUL]] : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[POW:.*]] = nn.pow %[[DIV]], %[[S]] : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[POW]]
func.func @arithmetic(%a: tensor<2x3xf32>, %b: tensor<3xf32>, %c: tensor<2x1x4xf32>, %d: tensor<3x1xf32>, %s: tensor<f32>) -> tensor<2x3xf32> {
  %add = nn.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %sub = nn.sub %c, %d : (tensor<2x1x4xf32>, tensor<3x1xf32>) -> tensor<2x3x4xf32>
  %mul = nn.mul %add, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %div = nn.div %b, %mul : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %pow = nn.pow %div, %s : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  func.return %pow : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @unary_math
// CHECK-NEXT:    %[[S:.*]] = nn.sin %{{.*}} : (tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[C:.*]] = nn.cos %[[S]] : (tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[T:.*]] = nn.tan %[[C]] : (tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[AS:.*]] = nn.asin %[[T]] : (tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[AC:.*]] = nn.acos %[[AS]] : (tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[AT:.*]] = nn.atan %[[AC]] : (tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[SH:.*]] = nn.sinh %[[AT]] : (tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[CH:.*]] = nn.cosh %[[SH]] : (tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[ASH:.*]] = nn.asinh %[[CH]] : (tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[ACH:.*]] = nn.acosh %[[ASH]] : (tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[ATH:.*]] = nn.atanh %[[ACH]] : (tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[R:.*]] = nn.round %[[ATH]] : (tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[SG:.*]] = nn.sign %[[R]] : (tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %{{.*}} = nn.is_nan %[[SG]] : (tensor<3xf32>) -> tensor<3xi1>
// CHECK-NEXT:    %{{.*}} = nn.is_inf %[[SG]] {detect_negative = 0 : i64} : (tensor<3xf32>) -> tensor<3xi1>
func.func @unary_math(%x: tensor<3xf32>) -> tensor<3xi1> {
  %s = nn.sin %x : (tensor<3xf32>) -> tensor<3xf32>
  %c = nn.cos %s : (tensor<3xf32>) -> tensor<3xf32>
  %t = nn.tan %c : (tensor<3xf32>) -> tensor<3xf32>
  %as = nn.asin %t : (tensor<3xf32>) -> tensor<3xf32>
  %ac = nn.acos %as : (tensor<3xf32>) -> tensor<3xf32>
  %at = nn.atan %ac : (tensor<3xf32>) -> tensor<3xf32>
  %sh = nn.sinh %at : (tensor<3xf32>) -> tensor<3xf32>
  %ch = nn.cosh %sh : (tensor<3xf32>) -> tensor<3xf32>
  %ash = nn.asinh %ch : (tensor<3xf32>) -> tensor<3xf32>
  %ach = nn.acosh %ash : (tensor<3xf32>) -> tensor<3xf32>
  %ath = nn.atanh %ach : (tensor<3xf32>) -> tensor<3xf32>
  %r = nn.round %ath : (tensor<3xf32>) -> tensor<3xf32>
  %sg = nn.sign %r : (tensor<3xf32>) -> tensor<3xf32>
  %nan = nn.is_nan %sg : (tensor<3xf32>) -> tensor<3xi1>
  %inf = nn.is_inf %sg {detect_negative = 0 : i64} : (tensor<3xf32>) -> tensor<3xi1>
  func.return %inf : tensor<3xi1>
}

// -----

// CHECK-LABEL: func.func @mod
// CHECK-NEXT:    %{{.*}} = nn.mod %{{.*}}, %{{.*}} : (tensor<2x3xi32>, tensor<3xi32>) -> tensor<2x3xi32>
// CHECK-NEXT:    %{{.*}} = nn.mod %{{.*}}, %{{.*}} {fmod = 1 : i64} : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
func.func @mod(%a: tensor<2x3xi32>, %b: tensor<3xi32>, %x: tensor<2x3xf32>, %y: tensor<f32>) -> tensor<2x3xi32> {
  %m = nn.mod %a, %b : (tensor<2x3xi32>, tensor<3xi32>) -> tensor<2x3xi32>
  %f = nn.mod %x, %y {fmod = 1 : i64} : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  func.return %m : tensor<2x3xi32>
}

// -----

// CHECK-LABEL: func.func @bitwise
// CHECK-NEXT:    %{{.*}} = nn.bitwise_and %{{.*}}, %{{.*}} : (tensor<2x3xi32>, tensor<3xi32>) -> tensor<2x3xi32>
// CHECK-NEXT:    %{{.*}} = nn.bitwise_or %{{.*}}, %{{.*}} : (tensor<2x3xi32>, tensor<3xi32>) -> tensor<2x3xi32>
// CHECK-NEXT:    %{{.*}} = nn.bitwise_xor %{{.*}}, %{{.*}} : (tensor<2x3xi32>, tensor<3xi32>) -> tensor<2x3xi32>
// CHECK-NEXT:    %{{.*}} = nn.bitwise_not %{{.*}} : (tensor<2x3xi32>) -> tensor<2x3xi32>
// CHECK-NEXT:    %{{.*}} = nn.bit_shift %{{.*}}, %{{.*}} {direction = "LEFT"} : (tensor<2x3xi32>, tensor<3xi32>) -> tensor<2x3xi32>
// CHECK-NEXT:    %{{.*}} = nn.bit_shift %{{.*}}, %{{.*}} {direction = "RIGHT"} : (tensor<4xui8>, tensor<ui8>) -> tensor<4xui8>
func.func @bitwise(%a: tensor<2x3xi32>, %b: tensor<3xi32>, %u: tensor<4xui8>, %s: tensor<ui8>) -> tensor<2x3xi32> {
  %and = nn.bitwise_and %a, %b : (tensor<2x3xi32>, tensor<3xi32>) -> tensor<2x3xi32>
  %or = nn.bitwise_or %and, %b : (tensor<2x3xi32>, tensor<3xi32>) -> tensor<2x3xi32>
  %xor = nn.bitwise_xor %or, %b : (tensor<2x3xi32>, tensor<3xi32>) -> tensor<2x3xi32>
  %not = nn.bitwise_not %xor : (tensor<2x3xi32>) -> tensor<2x3xi32>
  %left = nn.bit_shift %not, %b {direction = "LEFT"} : (tensor<2x3xi32>, tensor<3xi32>) -> tensor<2x3xi32>
  %right = nn.bit_shift %u, %s {direction = "RIGHT"} : (tensor<4xui8>, tensor<ui8>) -> tensor<4xui8>
  func.return %left : tensor<2x3xi32>
}

// -----

// CHECK-LABEL: func.func @comparisons
// CHECK-SAME:    (%[[A:[^:]*]]: tensor<2x3xf32>, %[[B:[^:]*]]: tensor<3xf32>)
// CHECK-NEXT:    %{{.*}} = nn.equal %[[A]], %[[B]] : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
// CHECK-NEXT:    %{{.*}} = nn.less %[[A]], %[[B]] : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
// CHECK-NEXT:    %{{.*}} = nn.less_or_equal %[[A]], %[[B]] : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
// CHECK-NEXT:    %{{.*}} = nn.greater %[[B]], %[[A]] : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xi1>
// CHECK-NEXT:    %{{.*}} = nn.greater_or_equal %[[A]], %[[A]] : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xi1>
func.func @comparisons(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<2x3xi1> {
  %eq = nn.equal %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %lt = nn.less %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %le = nn.less_or_equal %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %gt = nn.greater %b, %a : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xi1>
  %ge = nn.greater_or_equal %a, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xi1>
  func.return %ge : tensor<2x3xi1>
}

// -----

// CHECK-LABEL: func.func @logical
// CHECK-SAME:    (%[[P:[^:]*]]: tensor<2x3xi1>, %[[Q:[^:]*]]: tensor<1x3xi1>)
// CHECK-NEXT:    %[[AND:.*]] = nn.and %[[P]], %[[Q]] : (tensor<2x3xi1>, tensor<1x3xi1>) -> tensor<2x3xi1>
// CHECK-NEXT:    %[[OR:.*]] = nn.or %[[AND]], %[[P]] : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
// CHECK-NEXT:    %{{.*}} = nn.xor %[[Q]], %[[OR]] : (tensor<1x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
func.func @logical(%p: tensor<2x3xi1>, %q: tensor<1x3xi1>) -> tensor<2x3xi1> {
  %and = nn.and %p, %q : (tensor<2x3xi1>, tensor<1x3xi1>) -> tensor<2x3xi1>
  %or = nn.or %and, %p : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  %xor = nn.xor %q, %or : (tensor<1x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  func.return %xor : tensor<2x3xi1>
}

// -- elementwise, variadic and ternary -----------------------------------------------------

// CHECK-LABEL: func.func @variadic
// CHECK-SAME:    (%[[A:[^:]*]]: tensor<2x3xf32>, %[[B:[^:]*]]: tensor<3xf32>, %[[C:[^:]*]]: tensor<1x3xf32>, %[[COL:[^:]*]]: tensor<4x1xf32>, %[[ROW:[^:]*]]: tensor<1x5xf32>)
// CHECK-NEXT:    %{{.*}} = nn.sum %[[A]], %[[B]], %[[C]] : (tensor<2x3xf32>, tensor<3xf32>, tensor<1x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %{{.*}} = nn.mean %[[A]], %[[A]] : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %{{.*}} = nn.max %[[COL]], %[[ROW]] : (tensor<4x1xf32>, tensor<1x5xf32>) -> tensor<4x5xf32>
// CHECK-NEXT:    %{{.*}} = nn.min %[[A]] : (tensor<2x3xf32>) -> tensor<2x3xf32>
func.func @variadic(%a: tensor<2x3xf32>, %b: tensor<3xf32>, %c: tensor<1x3xf32>, %col: tensor<4x1xf32>, %row: tensor<1x5xf32>) -> tensor<2x3xf32> {
  %sum = nn.sum %a, %b, %c : (tensor<2x3xf32>, tensor<3xf32>, tensor<1x3xf32>) -> tensor<2x3xf32>
  %mean = nn.mean %a, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %max = nn.max %col, %row : (tensor<4x1xf32>, tensor<1x5xf32>) -> tensor<4x5xf32>
  %min = nn.min %a : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %sum : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @where
// CHECK-SAME:    (%[[COND:[^:]*]]: tensor<2x3xi1>, %[[X:[^:]*]]: tensor<2x3xf32>, %[[Y:[^:]*]]: tensor<1xf32>)
// CHECK-NEXT:    %{{.*}} = nn.where %[[COND]], %[[X]], %[[Y]] : (tensor<2x3xi1>, tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
func.func @where(%cond: tensor<2x3xi1>, %x: tensor<2x3xf32>, %y: tensor<1xf32>) -> tensor<2x3xf32> {
  %r = nn.where %cond, %x, %y : (tensor<2x3xi1>, tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
  func.return %r : tensor<2x3xf32>
}

// -- network ops -----------------------------------------------------------------------------

// 8x8 input, 3x3 kernel, no padding: 8 - 3 + 1 = 6.
// CHECK-LABEL: func.func @conv
// CHECK-SAME:    (%[[X:.*]]: tensor<1x3x8x8xf32>)
// CHECK-NEXT:    %[[W:.*]] = nn.weight "conv1.w" : tensor<4x3x3x3xf32>
// CHECK-NEXT:    %{{.*}} = nn.conv %[[X]], %[[W]] : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
func.func @conv(%x: tensor<1x3x8x8xf32>) -> tensor<1x4x6x6xf32> {
  %w = nn.weight "conv1.w" : tensor<4x3x3x3xf32>
  %y = nn.conv %x, %w : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return %y : tensor<1x4x6x6xf32>
}

// -----

// Padding 1 on each side, stride 2: (8 + 2 - 3) / 2 + 1 = 4.
// CHECK-LABEL: func.func @conv_bias_strided
// CHECK-SAME:    (%[[X:.*]]: tensor<1x3x8x8xf32>)
// CHECK-NEXT:    %[[W:.*]] = nn.weight "conv1.w" : tensor<4x3x3x3xf32>
// CHECK-NEXT:    %[[B:.*]] = nn.weight "conv1.b" : tensor<4xf32>
// CHECK-NEXT:    %{{.*}} = nn.conv %[[X]], %[[W]], %[[B]] {pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>, group = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
func.func @conv_bias_strided(%x: tensor<1x3x8x8xf32>) -> tensor<1x4x4x4xf32> {
  %w = nn.weight "conv1.w" : tensor<4x3x3x3xf32>
  %b = nn.weight "conv1.b" : tensor<4xf32>
  %y = nn.conv %x, %w, %b {pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>, group = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  func.return %y : tensor<1x4x4x4xf32>
}

// -----

// Depthwise (group = channels), dilation 2: the 3x3 kernel spans 5, so 8 - 5 + 1 = 4.
// CHECK-LABEL: func.func @conv_depthwise_dilated
// CHECK-SAME:    (%[[X:[^:]*]]: tensor<1x4x8x8xf32>, %[[W:[^:]*]]: tensor<4x1x3x3xf32>)
// CHECK-NEXT:    %{{.*}} = nn.conv %[[X]], %[[W]] {dilations = array<i64: 2, 2>, group = 4 : i64} : (tensor<1x4x8x8xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x4x4xf32>
func.func @conv_depthwise_dilated(%x: tensor<1x4x8x8xf32>, %w: tensor<4x1x3x3xf32>) -> tensor<1x4x4x4xf32> {
  %y = nn.conv %x, %w {dilations = array<i64: 2, 2>, group = 4 : i64} : (tensor<1x4x8x8xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x4x4xf32>
  func.return %y : tensor<1x4x4x4xf32>
}

// -----

// W is C_in x C_out x kH x kW; out = 2 * (4 - 1) + 1 (output_padding) + 3 - 2 (pads) = 8.
// CHECK-LABEL: func.func @conv_transpose
// CHECK-SAME:    (%[[X:[^:]*]]: tensor<1x4x4x4xf32>, %[[W:[^:]*]]: tensor<4x2x3x3xf32>)
// CHECK-NEXT:    %{{.*}} = nn.conv_transpose %[[X]], %[[W]] {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, output_padding = array<i64: 1, 1>} : (tensor<1x4x4x4xf32>, tensor<4x2x3x3xf32>) -> tensor<1x2x8x8xf32>
func.func @conv_transpose(%x: tensor<1x4x4x4xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x2x8x8xf32> {
  %y = nn.conv_transpose %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, output_padding = array<i64: 1, 1>} : (tensor<1x4x4x4xf32>, tensor<4x2x3x3xf32>) -> tensor<1x2x8x8xf32>
  func.return %y : tensor<1x2x8x8xf32>
}

// -----

// A' = A^T is 3x4, B' = B^T is 4x5: Y is 3x5, C broadcast along rows.
// CHECK-LABEL: func.func @gemm
// CHECK-SAME:    (%[[A:[^:]*]]: tensor<4x3xf32>, %[[B:[^:]*]]: tensor<5x4xf32>, %[[C:[^:]*]]: tensor<5xf32>)
// CHECK-NEXT:    %{{.*}} = nn.gemm %[[A]], %[[B]], %[[C]] {alpha = 5.000000e-01 : f64, beta = 2.000000e+00 : f64, transA = 1 : i64, transB = 1 : i64} : (tensor<4x3xf32>, tensor<5x4xf32>, tensor<5xf32>) -> tensor<3x5xf32>
func.func @gemm(%a: tensor<4x3xf32>, %b: tensor<5x4xf32>, %c: tensor<5xf32>) -> tensor<3x5xf32> {
  %y = nn.gemm %a, %b, %c {alpha = 0.5 : f64, beta = 2.0 : f64, transA = 1 : i64, transB = 1 : i64} : (tensor<4x3xf32>, tensor<5x4xf32>, tensor<5xf32>) -> tensor<3x5xf32>
  func.return %y : tensor<3x5xf32>
}

// -----

// Batch dimensions (2, 1) and (5) broadcast to (2, 5); 3x4 @ 4x6 is 3x6.
// CHECK-LABEL: func.func @matmul
// CHECK-SAME:    (%[[A:[^:]*]]: tensor<2x1x3x4xf32>, %[[B:[^:]*]]: tensor<5x4x6xf32>)
// CHECK-NEXT:    %{{.*}} = nn.matmul %[[A]], %[[B]] : (tensor<2x1x3x4xf32>, tensor<5x4x6xf32>) -> tensor<2x5x3x6xf32>
func.func @matmul(%a: tensor<2x1x3x4xf32>, %b: tensor<5x4x6xf32>) -> tensor<2x5x3x6xf32> {
  %y = nn.matmul %a, %b : (tensor<2x1x3x4xf32>, tensor<5x4x6xf32>) -> tensor<2x5x3x6xf32>
  func.return %y : tensor<2x5x3x6xf32>
}

// -----

// CHECK-LABEL: func.func @einsum
// CHECK-NEXT:    %{{.*}} = nn.einsum %{{.*}}, %{{.*}} {equation = "bij,bjk->bik"} : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> tensor<2x3x5xf32>
// CHECK-NEXT:    %{{.*}} = nn.einsum %{{.*}} {equation = "...ii->...i"} : (tensor<2x3x3xf32>) -> tensor<2x3xf32>
func.func @einsum(%a: tensor<2x3x4xf32>, %b: tensor<2x4x5xf32>, %c: tensor<2x3x3xf32>) -> tensor<2x3x5xf32> {
  %y = nn.einsum %a, %b {equation = "bij,bjk->bik"} : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> tensor<2x3x5xf32>
  %d = nn.einsum %c {equation = "...ii->...i"} : (tensor<2x3x3xf32>) -> tensor<2x3xf32>
  func.return %y : tensor<2x3x5xf32>
}

// -----

// CHECK-LABEL: func.func @batch_normalization
// CHECK-SAME:    (%[[X:.*]]: tensor<1x4x6x6xf32>)
// CHECK:         %[[SCALE:.*]] = nn.weight "bn.scale" : tensor<4xf32>
// CHECK-NEXT:    %[[BIAS:.*]] = nn.weight "bn.bias" : tensor<4xf32>
// CHECK-NEXT:    %[[MEAN:.*]] = nn.weight "bn.mean" : tensor<4xf32>
// CHECK-NEXT:    %[[VAR:.*]] = nn.weight "bn.var" : tensor<4xf32>
// CHECK-NEXT:    %{{.*}} = nn.batch_normalization %[[X]], %[[SCALE]], %[[BIAS]], %[[MEAN]], %[[VAR]] {epsilon = 1.000000e-03 : f64} : (tensor<1x4x6x6xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
func.func @batch_normalization(%x: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  %scale = nn.weight "bn.scale" : tensor<4xf32>
  %bias = nn.weight "bn.bias" : tensor<4xf32>
  %mean = nn.weight "bn.mean" : tensor<4xf32>
  %var = nn.weight "bn.var" : tensor<4xf32>
  %y = nn.batch_normalization %x, %scale, %bias, %mean, %var {epsilon = 1.0e-3 : f64} : (tensor<1x4x6x6xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  func.return %y : tensor<1x4x6x6xf32>
}

// -----

// CHECK-LABEL: func.func @layer_normalization
// CHECK-SAME:    (%[[X:[^:]*]]: tensor<2x5x8xf32>, %[[SCALE:[^:]*]]: tensor<8xf32>, %[[B:[^:]*]]: tensor<8xf32>)
// CHECK-NEXT:    %{{.*}} = nn.layer_normalization %[[X]], %[[SCALE]], %[[B]] {axis = -1 : i64, epsilon = 1.000000e-05 : f64} : (tensor<2x5x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x5x8xf32>
// CHECK-NEXT:    %{{.*}} = nn.layer_normalization %[[X]], %[[SCALE]] : (tensor<2x5x8xf32>, tensor<8xf32>) -> tensor<2x5x8xf32>
func.func @layer_normalization(%x: tensor<2x5x8xf32>, %scale: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<2x5x8xf32> {
  %y = nn.layer_normalization %x, %scale, %b {axis = -1 : i64, epsilon = 1.0e-5 : f64} : (tensor<2x5x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x5x8xf32>
  %no_bias = nn.layer_normalization %x, %scale : (tensor<2x5x8xf32>, tensor<8xf32>) -> tensor<2x5x8xf32>
  func.return %y : tensor<2x5x8xf32>
}

// -----

// CHECK-LABEL: func.func @softmax
// CHECK-SAME:    (%[[X:.*]]: tensor<2x10xf32>)
// CHECK-NEXT:    %{{.*}} = nn.softmax %[[X]] {axis = 1 : i64} : (tensor<2x10xf32>) -> tensor<2x10xf32>
// CHECK-NEXT:    %{{.*}} = nn.log_softmax %[[X]] {axis = 0 : i64} : (tensor<2x10xf32>) -> tensor<2x10xf32>
func.func @softmax(%x: tensor<2x10xf32>) -> tensor<2x10xf32> {
  %y = nn.softmax %x {axis = 1 : i64} : (tensor<2x10xf32>) -> tensor<2x10xf32>
  %z = nn.log_softmax %x {axis = 0 : i64} : (tensor<2x10xf32>) -> tensor<2x10xf32>
  func.return %y : tensor<2x10xf32>
}

// -----

// 2x2 windows with stride 2: 8 / 2 = 4. With ceil_mode, 3x3 windows at stride 2 cover
// ceil((8 - 3) / 2) + 1 = 4 positions instead of 3.
// CHECK-LABEL: func.func @max_pool
// CHECK-SAME:    (%[[X:.*]]: tensor<1x3x8x8xf32>)
// CHECK-NEXT:    %{{.*}} = nn.max_pool %[[X]] {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
// CHECK-NEXT:    %{{.*}} = nn.max_pool %[[X]] {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, ceil_mode = 1 : i64} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
func.func @max_pool(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32> {
  %y = nn.max_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
  %ceil = nn.max_pool %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, ceil_mode = 1 : i64} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
  func.return %y : tensor<1x3x4x4xf32>
}

// -----

// A 3x3 window padded by 1 at stride 1 keeps 8x8.
// CHECK-LABEL: func.func @average_pool
// CHECK-SAME:    (%[[X:.*]]: tensor<1x3x8x8xf32>)
// CHECK-NEXT:    %{{.*}} = nn.average_pool %[[X]] {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, count_include_pad = 1 : i64} : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xf32>
func.func @average_pool(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xf32> {
  %y = nn.average_pool %x {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, count_include_pad = 1 : i64} : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xf32>
  func.return %y : tensor<1x3x8x8xf32>
}

// -----

// CHECK-LABEL: func.func @global_pools
// CHECK-SAME:    (%[[X:.*]]: tensor<1x3x8x8xf32>)
// CHECK-NEXT:    %{{.*}} = nn.global_average_pool %[[X]] : (tensor<1x3x8x8xf32>) -> tensor<1x3x1x1xf32>
// CHECK-NEXT:    %{{.*}} = nn.global_max_pool %[[X]] : (tensor<1x3x8x8xf32>) -> tensor<1x3x1x1xf32>
func.func @global_pools(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x1x1xf32> {
  %avg = nn.global_average_pool %x : (tensor<1x3x8x8xf32>) -> tensor<1x3x1x1xf32>
  %max = nn.global_max_pool %x : (tensor<1x3x8x8xf32>) -> tensor<1x3x1x1xf32>
  func.return %avg : tensor<1x3x1x1xf32>
}

// -----

// CHECK-LABEL: func.func @lrn
// CHECK-SAME:    (%[[X:.*]]: tensor<1x4x5x5xf32>)
// CHECK-NEXT:    %{{.*}} = nn.lrn %[[X]] {size = 3 : i64, bias = 2.000000e+00 : f64} : (tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32>
func.func @lrn(%x: tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32> {
  %y = nn.lrn %x {size = 3 : i64, bias = 2.0 : f64} : (tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32>
  func.return %y : tensor<1x4x5x5xf32>
}

// -- data movement ---------------------------------------------------------------------------

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

// -- reductions ------------------------------------------------------------------------------

// CHECK-LABEL: func.func @reductions
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT:    %{{.*}} = nn.reduce_mean %[[X]] {axes = array<i64: 1>} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
// CHECK-NEXT:    %{{.*}} = nn.reduce_sum %[[X]] {axes = array<i64: 0, 2>, keepdims = 0 : i64} : (tensor<2x3x4xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %{{.*}} = nn.reduce_prod %[[X]] {axes = array<i64: 2>} : (tensor<2x3x4xf32>) -> tensor<2x3x1xf32>
// CHECK-NEXT:    %{{.*}} = nn.reduce_max %[[X]] : (tensor<2x3x4xf32>) -> tensor<1x1x1xf32>
// CHECK-NEXT:    %{{.*}} = nn.reduce_min %[[X]] {axes = array<i64: -1>, keepdims = 0 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3xf32>
func.func @reductions(%x: tensor<2x3x4xf32>) -> tensor<2x1x4xf32> {
  %mean = nn.reduce_mean %x {axes = array<i64: 1>} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
  %sum = nn.reduce_sum %x {axes = array<i64: 0, 2>, keepdims = 0 : i64} : (tensor<2x3x4xf32>) -> tensor<3xf32>
  %prod = nn.reduce_prod %x {axes = array<i64: 2>} : (tensor<2x3x4xf32>) -> tensor<2x3x1xf32>
  %max = nn.reduce_max %x : (tensor<2x3x4xf32>) -> tensor<1x1x1xf32>
  %min = nn.reduce_min %x {axes = array<i64: -1>, keepdims = 0 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3xf32>
  func.return %mean : tensor<2x1x4xf32>
}

// -----

// CHECK-LABEL: func.func @arg_reductions
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT:    %{{.*}} = nn.arg_max %[[X]] {axis = 1 : i64, keepdims = 0 : i64} : (tensor<2x3x4xf32>) -> tensor<2x4xi64>
// CHECK-NEXT:    %{{.*}} = nn.arg_min %[[X]] {axis = 2 : i64, select_last_index = 1 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3x1xi64>
func.func @arg_reductions(%x: tensor<2x3x4xf32>) -> tensor<2x4xi64> {
  %argmax = nn.arg_max %x {axis = 1 : i64, keepdims = 0 : i64} : (tensor<2x3x4xf32>) -> tensor<2x4xi64>
  %argmin = nn.arg_min %x {axis = 2 : i64, select_last_index = 1 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3x1xi64>
  func.return %argmax : tensor<2x4xi64>
}

// -----

// CHECK-LABEL: func.func @cumulative
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NEXT:    %{{.*}} = nn.cum_sum %[[X]] {axis = 1 : i64, exclusive = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %{{.*}} = nn.cum_prod %[[X]] {axis = -2 : i64, reverse = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
func.func @cumulative(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %sum = nn.cum_sum %x {axis = 1 : i64, exclusive = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %prod = nn.cum_prod %x {axis = -2 : i64, reverse = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %sum : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @top_k
// CHECK-SAME:    (%[[X:.*]]: tensor<3x5xf32>)
// CHECK-NEXT:    %{{.*}}, %{{.*}} = nn.top_k %[[X]] {k = array<i64: 2>, axis = 0 : i64, largest = 0 : i64} : (tensor<3x5xf32>) -> (tensor<2x5xf32>, tensor<2x5xi64>)
func.func @top_k(%x: tensor<3x5xf32>) -> tensor<2x5xi64> {
  %values, %indices = nn.top_k %x {k = array<i64: 2>, axis = 0 : i64, largest = 0 : i64} : (tensor<3x5xf32>) -> (tensor<2x5xf32>, tensor<2x5xi64>)
  func.return %indices : tensor<2x5xi64>
}

// -----

// CHECK-LABEL: func.func @one_hot
// CHECK-SAME:    (%[[I:.*]]: tensor<2x3xi64>, %[[V:.*]]: tensor<2xf32>)
// CHECK-NEXT:    %{{.*}} = nn.one_hot %[[I]], %[[V]] {depth = 4 : i64, axis = 1 : i64} : (tensor<2x3xi64>, tensor<2xf32>) -> tensor<2x4x3xf32>
func.func @one_hot(%i: tensor<2x3xi64>, %v: tensor<2xf32>) -> tensor<2x4x3xf32> {
  %r = nn.one_hot %i, %v {depth = 4 : i64, axis = 1 : i64} : (tensor<2x3xi64>, tensor<2xf32>) -> tensor<2x4x3xf32>
  func.return %r : tensor<2x4x3xf32>
}

// -----

// CHECK-LABEL: func.func @lp_pool
// CHECK-NEXT:    %{{.*}} = nn.lp_pool %{{.*}} {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, p = 3 : i64} : (tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
func.func @lp_pool(%x: tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32> {
  %r = nn.lp_pool %x {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, p = 3 : i64} : (tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  func.return %r : tensor<1x2x5x5xf32>
}

// -----

// CHECK-LABEL: func.func @bit_cast
// CHECK-NEXT:    %{{.*}} = nn.bit_cast %{{.*}} {to = 6 : i64} : (tensor<3xf32>) -> tensor<3xi32>
func.func @bit_cast(%x: tensor<3xf32>) -> tensor<3xi32> {
  %r = nn.bit_cast %x {to = 6 : i64} : (tensor<3xf32>) -> tensor<3xi32>
  func.return %r : tensor<3xi32>
}

// -- constants and weights -----------------------------------------------------------------

// CHECK-LABEL: func.func @constants
// CHECK-NEXT:    %{{.*}} = nn.constant {value = dense<1.000000e+00> : tensor<4xf32>} : tensor<4xf32>
// CHECK-NEXT:    %{{.*}} = nn.constant {value = dense<[1, 2, 3]> : tensor<3xi64>} : tensor<3xi64>
// CHECK-NEXT:    %{{.*}} = nn.constant_of_shape {shape = array<i64: 2, 3>, value = dense<5> : tensor<1xi64>} : tensor<2x3xi64>
// CHECK-NEXT:    %{{.*}} = nn.constant_of_shape {shape = array<i64: 4>} : tensor<4xf32>
// CHECK-NEXT:    %[[W:.*]] = nn.weight "encoder.layers.0/w" : tensor<4xf32>
// CHECK-NEXT:    func.return %[[W]] : tensor<4xf32>
func.func @constants() -> tensor<4xf32> {
  %ones = nn.constant {value = dense<1.0> : tensor<4xf32>} : tensor<4xf32>
  %shape = nn.constant {value = dense<[1, 2, 3]> : tensor<3xi64>} : tensor<3xi64>
  %fives = nn.constant_of_shape {shape = array<i64: 2, 3>, value = dense<5> : tensor<1xi64>} : tensor<2x3xi64>
  %zeros = nn.constant_of_shape {shape = array<i64: 4>} : tensor<4xf32>
  %w = nn.weight "encoder.layers.0/w" : tensor<4xf32>
  func.return %w : tensor<4xf32>
}

// -----

// -- run-time checks -------------------------------------------------------------------------

// CHECK-LABEL: func.func @range_checks
// CHECK-NEXT:    %{{.*}} = nn.range_check %{{.*}} {operand = "sequence_lens", op_type = "ReverseSequence", low = 0 : i64, high = 5 : i64} : tensor<4xi64>
// CHECK-NEXT:    %{{.*}} = nn.range_check %{{.*}} {operand = "write_indices", op_type = "TensorScatter", low = 0 : i64} : tensor<2xi64>
func.func @range_checks(%lengths: tensor<4xi64>, %writes: tensor<2xi64>) -> (tensor<4xi64>, tensor<2xi64>) {
  %l = nn.range_check %lengths {operand = "sequence_lens", op_type = "ReverseSequence", low = 0 : i64, high = 5 : i64} : tensor<4xi64>
  %w = nn.range_check %writes {operand = "write_indices", op_type = "TensorScatter", low = 0 : i64} : tensor<2xi64>
  func.return %l, %w : tensor<4xi64>, tensor<2xi64>
}
