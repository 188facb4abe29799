// RUN: terrace-opt %s --split-input-file | filecheck %s
// RUN: terrace-opt %s --split-input-file --print-op-generic | terrace-opt --split-input-file | filecheck %s
// RUN: terrace-opt %s --split-input-file --print-op-generic | filecheck %s --check-prefix=GENERIC

// Every nn op of dialects/nn/elementwise.py prints in its custom format and parses back (first
// RUN), and its generic form parses back to the same ops (second RUN). Result types are checked
// by the verifier against onnx's shape inference, so each case's types are also a shape test,
// worked out by hand from the ONNX operator's definition.

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

// -----

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

// -----

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

// -----

// CHECK-LABEL: func.func @bit_cast
// CHECK-NEXT:    %{{.*}} = nn.bit_cast %{{.*}} {to = 6 : i64} : (tensor<3xf32>) -> tensor<3xi32>
func.func @bit_cast(%x: tensor<3xf32>) -> tensor<3xi32> {
  %r = nn.bit_cast %x {to = 6 : i64} : (tensor<3xf32>) -> tensor<3xi32>
  func.return %r : tensor<3xi32>
}
