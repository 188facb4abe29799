// RUN: terrace-opt %s -p convert-nn-to-linalg --split-input-file | filecheck %s

// CHECK-LABEL: func.func @relu
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3xf32>)
// CHECK:         %[[INIT:.*]] = tensor.empty() : tensor<2x3xf32>
// CHECK:         %[[R:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[X]] : tensor<2x3xf32>) outs(%[[INIT]] : tensor<2x3xf32>)
// CHECK:           %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:           arith.maximumf %{{.*}}, %[[ZERO]] : f32
// CHECK:         func.return %[[R]]
func.func @relu(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %r = nn.relu %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %r : tensor<2x3xf32>
}

// -----

// Broadcasting: a missing leading dim is dropped from the map, a size-1 dim reads index 0.
// CHECK-LABEL: func.func @add_broadcast
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d1, 0)>, affine_map<(d0, d1, d2) -> (d0, 0, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK:           arith.addf
// CHECK:         } -> tensor<2x3x4xf32>
func.func @add_broadcast(%a: tensor<3x1xf32>, %b: tensor<2x1x4xf32>) -> tensor<2x3x4xf32> {
  %r = nn.add %a, %b : (tensor<3x1xf32>, tensor<2x1x4xf32>) -> tensor<2x3x4xf32>
  func.return %r : tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func.func @div_int
// CHECK:         linalg.generic
// CHECK:           arith.divsi %{{.*}}, %{{.*}} : i32
func.func @div_int(%a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<4xi32> {
  %r = nn.div %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  func.return %r : tensor<4xi32>
}

// -----

// Python's mod: the remainder plus the divisor where their signs differ; divisors 0 and -1
// become 1 (both give 0, without remsi's division by zero or overflow).
// CHECK-LABEL: func.func @mod_int
// CHECK:         linalg.generic
// CHECK:           %[[DIVISOR:.*]] = arith.select %{{.*}}, %{{.*}}, %{{.*}} : i32
// CHECK:           %[[REM:.*]] = arith.remsi %{{.*}}, %[[DIVISOR]] : i32
// CHECK:           %[[SUM:.*]] = arith.addi %[[REM]], %[[DIVISOR]] : i32
// CHECK:           arith.select %{{.*}}, %[[SUM]], %[[REM]] : i32
func.func @mod_int(%a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<4xi32> {
  %r = nn.mod %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  func.return %r : tensor<4xi32>
}

// -----

// CHECK-LABEL: func.func @fmod_unsigned
// CHECK:         linalg.generic
// CHECK:           arith.remui %{{.*}}, %{{.*}} : ui8
// CHECK-NOT:       arith.addi
func.func @fmod_unsigned(%a: tensor<4xui8>, %b: tensor<4xui8>) -> tensor<4xui8> {
  %r = nn.mod %a, %b {fmod = 1 : i64} : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xui8>
  func.return %r : tensor<4xui8>
}

// -----

// Float mod: LLVM's frem (exact) in f32 for f16, then numpy's sign rule (fmod = 0): plus the
// divisor where the signs differ, a zero remainder with the divisor's sign.
// CHECK-LABEL: func.func @mod_float16
// CHECK:         linalg.generic
// CHECK:           %[[REM:.*]] = llvm.frem %{{.*}}, %{{.*}} : f32
// CHECK:           %[[SUM:.*]] = arith.addf %[[REM]], %{{.*}} : f32
// CHECK:           math.copysign
// CHECK:           arith.truncf %{{.*}} : f32 to f16
func.func @mod_float16(%a: tensor<4xf16>, %b: tensor<4xf16>) -> tensor<4xf16> {
  %r = nn.mod %a, %b : (tensor<4xf16>, tensor<4xf16>) -> tensor<4xf16>
  func.return %r : tensor<4xf16>
}

// -----

// A signed right shift is arithmetic; out of range (negative, or 8 and more) leaves the sign.
// CHECK-LABEL: func.func @shift_right_signed
// CHECK:         linalg.generic
// CHECK:           %[[IN:.*]] = arith.cmpi ult, %{{.*}}, %{{.*}} : i8
// CHECK:           %[[SHIFTED:.*]] = arith.shrsi
// CHECK:           %[[SIGN:.*]] = arith.shrsi
// CHECK:           arith.select %[[IN]], %[[SHIFTED]], %[[SIGN]] : i8
func.func @shift_right_signed(%a: tensor<4xi8>, %b: tensor<4xi8>) -> tensor<4xi8> {
  %r = nn.bit_shift %a, %b {direction = "RIGHT"} : (tensor<4xi8>, tensor<4xi8>) -> tensor<4xi8>
  func.return %r : tensor<4xi8>
}

// -----

// CHECK-LABEL: func.func @bitwise_not
// CHECK:         linalg.generic
// CHECK:           %[[ONES:.*]] = arith.constant -1 : i16
// CHECK:           arith.xori %{{.*}}, %[[ONES]] : i16
func.func @bitwise_not(%a: tensor<4xi16>) -> tensor<4xi16> {
  %r = nn.bitwise_not %a : (tensor<4xi16>) -> tensor<4xi16>
  func.return %r : tensor<4xi16>
}

// -----

// Round is round-half-to-even; is_inf compares with the infinities it detects.
// CHECK-LABEL: func.func @round_and_is_inf
// CHECK:         linalg.generic
// CHECK:           math.roundeven %{{.*}} : f32
// CHECK:         linalg.generic
// CHECK:           %[[INF:.*]] = arith.constant 0x7f800000 : f32
// CHECK:           arith.cmpf oeq, %{{.*}}, %[[INF]] : f32
// CHECK-NOT:       0xff800000
// CHECK:         } -> tensor<4xi1>
func.func @round_and_is_inf(%a: tensor<4xf32>) -> tensor<4xi1> {
  %r = nn.round %a : (tensor<4xf32>) -> tensor<4xf32>
  %i = nn.is_inf %r {detect_negative = 0 : i64} : (tensor<4xf32>) -> tensor<4xi1>
  func.return %i : tensor<4xi1>
}

// -----

// CHECK-LABEL: func.func @less
// CHECK:         %[[INIT:.*]] = tensor.empty() : tensor<4xi1>
// CHECK:         linalg.generic
// CHECK-SAME:      outs(%[[INIT]] : tensor<4xi1>)
// CHECK:           %[[C:.*]] = arith.cmpf olt, %{{.*}}, %{{.*}} : f32
// CHECK-NEXT:      linalg.yield %[[C]] : i1
func.func @less(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xi1> {
  %r = nn.less %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  func.return %r : tensor<4xi1>
}

// -----

// CHECK-LABEL: func.func @less_unsigned
// CHECK:         arith.cmpi ult, %{{.*}}, %{{.*}} : ui8
func.func @less_unsigned(%a: tensor<4xui8>, %b: tensor<4xui8>) -> tensor<4xi1> {
  %r = nn.less %a, %b : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xi1>
  func.return %r : tensor<4xi1>
}

// -----

// float16 computes in f32 and rounds once.
// CHECK-LABEL: func.func @gelu_f16
// CHECK:         ^bb0(%[[IN:.*]]: f16, %{{.*}}: f16):
// CHECK-NEXT:      %[[WIDE:.*]] = arith.extf %[[IN]] : f16 to f32
// CHECK:           math.erf %{{.*}} : f32
// CHECK:           %[[NARROW:.*]] = arith.truncf %{{.*}} : f32 to f16
// CHECK-NEXT:      linalg.yield %[[NARROW]] : f16
func.func @gelu_f16(%x: tensor<3xf16>) -> tensor<3xf16> {
  %r = nn.gelu %x : (tensor<3xf16>) -> tensor<3xf16>
  func.return %r : tensor<3xf16>
}

// -----

// CHECK-LABEL: func.func @gelu_tanh
// CHECK:         math.tanh
// CHECK-NOT:     math.erf
func.func @gelu_tanh(%x: tensor<3xf32>) -> tensor<3xf32> {
  %r = nn.gelu %x {approximate = "tanh"} : (tensor<3xf32>) -> tensor<3xf32>
  func.return %r : tensor<3xf32>
}

// -----

// CHECK-LABEL: func.func @clip_min_only
// CHECK:         %[[LOW:.*]] = arith.constant -1.000000e+00 : f32
// CHECK-NEXT:    %[[R:.*]] = arith.maximumf %{{.*}}, %[[LOW]] : f32
// CHECK-NEXT:    linalg.yield %[[R]] : f32
func.func @clip_min_only(%x: tensor<3xf32>) -> tensor<3xf32> {
  %r = nn.clip %x {min = -1.0 : f64} : (tensor<3xf32>) -> tensor<3xf32>
  func.return %r : tensor<3xf32>
}

// -----

// CHECK-LABEL: func.func @identity
// CHECK-SAME:    (%[[X:.*]]: tensor<3xf32>)
// CHECK-NEXT:    func.return %[[X]] : tensor<3xf32>
func.func @identity(%x: tensor<3xf32>) -> tensor<3xf32> {
  %r = nn.identity %x : (tensor<3xf32>) -> tensor<3xf32>
  %d = nn.dropout %r : (tensor<3xf32>) -> tensor<3xf32>
  func.return %d : tensor<3xf32>
}

// -----

// CHECK-LABEL: func.func @max3
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<3xf32>, tensor<3xf32>, tensor<3xf32>)
// CHECK:           %[[M:.*]] = arith.maximumf
// CHECK-NEXT:      arith.maximumf %[[M]], %{{.*}} : f32
func.func @max3(%a: tensor<3xf32>, %b: tensor<3xf32>, %c: tensor<3xf32>) -> tensor<3xf32> {
  %r = nn.max %a, %b, %c : (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  func.return %r : tensor<3xf32>
}

// -----

// CHECK-LABEL: func.func @where
// CHECK:         ^bb0(%[[C:.*]]: i1, %[[X:.*]]: f32, %[[Y:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:      %[[S:.*]] = arith.select %[[C]], %[[X]], %[[Y]] : f32
func.func @where(%c: tensor<3xi1>, %x: tensor<3xf32>, %y: tensor<1xf32>) -> tensor<3xf32> {
  %r = nn.where %c, %x, %y : (tensor<3xi1>, tensor<3xf32>, tensor<1xf32>) -> tensor<3xf32>
  func.return %r : tensor<3xf32>
}

// -----

// Each float unary op is one parallel generic whose body is its math op, in the element type.
// CHECK-LABEL: func.func @unary_math
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3xf32>)
// CHECK:         %[[R0:.*]] = linalg.generic {{.*}} ins(%[[X]] : tensor<2x3xf32>)
// CHECK:           math.tanh %{{.*}} : f32
// CHECK:         } -> tensor<2x3xf32>
// CHECK:         %[[R1:.*]] = linalg.generic {{.*}} ins(%[[R0]] : tensor<2x3xf32>)
// CHECK:           math.erf %{{.*}} : f32
// CHECK:         } -> tensor<2x3xf32>
// CHECK:         %[[R2:.*]] = linalg.generic {{.*}} ins(%[[R1]] : tensor<2x3xf32>)
// CHECK:           math.sqrt %{{.*}} : f32
// CHECK:         } -> tensor<2x3xf32>
// CHECK:         %[[R3:.*]] = linalg.generic {{.*}} ins(%[[R2]] : tensor<2x3xf32>)
// CHECK:           math.exp %{{.*}} : f32
// CHECK:         } -> tensor<2x3xf32>
// CHECK:         %[[R4:.*]] = linalg.generic {{.*}} ins(%[[R3]] : tensor<2x3xf32>)
// CHECK:           math.log %{{.*}} : f32
// CHECK:         } -> tensor<2x3xf32>
// CHECK:         %[[R5:.*]] = linalg.generic {{.*}} ins(%[[R4]] : tensor<2x3xf32>)
// CHECK:           math.floor %{{.*}} : f32
// CHECK:         } -> tensor<2x3xf32>
// CHECK:         %[[R6:.*]] = linalg.generic {{.*}} ins(%[[R5]] : tensor<2x3xf32>)
// CHECK:           math.ceil %{{.*}} : f32
// CHECK:         } -> tensor<2x3xf32>
// CHECK:         %[[R7:.*]] = linalg.generic {{.*}} ins(%[[R6]] : tensor<2x3xf32>)
// CHECK:           math.sin %{{.*}} : f32
// CHECK:         } -> tensor<2x3xf32>
// CHECK:         %[[R8:.*]] = linalg.generic {{.*}} ins(%[[R7]] : tensor<2x3xf32>)
// CHECK:           math.cos %{{.*}} : f32
// CHECK:         } -> tensor<2x3xf32>
// CHECK:         %[[R9:.*]] = linalg.generic {{.*}} ins(%[[R8]] : tensor<2x3xf32>)
// CHECK:           math.tan %{{.*}} : f32
// CHECK:         } -> tensor<2x3xf32>
// CHECK:         %[[R10:.*]] = linalg.generic {{.*}} ins(%[[R9]] : tensor<2x3xf32>)
// CHECK:           math.asin %{{.*}} : f32
// CHECK:         } -> tensor<2x3xf32>
// CHECK:         %[[R11:.*]] = linalg.generic {{.*}} ins(%[[R10]] : tensor<2x3xf32>)
// CHECK:           math.acos %{{.*}} : f32
// CHECK:         } -> tensor<2x3xf32>
// CHECK:         %[[R12:.*]] = linalg.generic {{.*}} ins(%[[R11]] : tensor<2x3xf32>)
// CHECK:           math.atan %{{.*}} : f32
// CHECK:         } -> tensor<2x3xf32>
// CHECK:         %[[R13:.*]] = linalg.generic {{.*}} ins(%[[R12]] : tensor<2x3xf32>)
// CHECK:           math.sinh %{{.*}} : f32
// CHECK:         } -> tensor<2x3xf32>
// CHECK:         %[[R14:.*]] = linalg.generic {{.*}} ins(%[[R13]] : tensor<2x3xf32>)
// CHECK:           math.cosh %{{.*}} : f32
// CHECK:         } -> tensor<2x3xf32>
// CHECK:         %[[R15:.*]] = linalg.generic {{.*}} ins(%[[R14]] : tensor<2x3xf32>)
// CHECK:           math.asinh %{{.*}} : f32
// CHECK:         } -> tensor<2x3xf32>
// CHECK:         %[[R16:.*]] = linalg.generic {{.*}} ins(%[[R15]] : tensor<2x3xf32>)
// CHECK:           math.acosh %{{.*}} : f32
// CHECK:         } -> tensor<2x3xf32>
// CHECK:         %[[R17:.*]] = linalg.generic {{.*}} ins(%[[R16]] : tensor<2x3xf32>)
// CHECK:           math.atanh %{{.*}} : f32
// CHECK:         } -> tensor<2x3xf32>
// CHECK:         func.return %[[R17]]
func.func @unary_math(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = nn.tanh %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = nn.erf %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = nn.sqrt %1 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %3 = nn.exp %2 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %4 = nn.log %3 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %5 = nn.floor %4 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %6 = nn.ceil %5 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %7 = nn.sin %6 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %8 = nn.cos %7 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %9 = nn.tan %8 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %10 = nn.asin %9 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %11 = nn.acos %10 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %12 = nn.atan %11 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %13 = nn.sinh %12 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %14 = nn.cosh %13 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %15 = nn.asinh %14 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %16 = nn.acosh %15 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %17 = nn.atanh %16 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %17 : tensor<2x3xf32>
}

// -----

// sigmoid is 1 / (1 + exp(-x)): float arithmetic and exp only, no compare or select (a fused
// epilogue applies it to whole vectors); exp(-x) = inf for very negative x gives +0.
// CHECK-LABEL: func.func @sigmoid
// CHECK:         linalg.generic
// CHECK-NEXT:    ^{{.*}}(%[[X:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:      %[[NEG:.*]] = arith.negf %[[X]] : f32
// CHECK-NEXT:      %[[E:.*]] = math.exp %[[NEG]] : f32
// CHECK-NEXT:      %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:      %[[DENOMINATOR:.*]] = arith.addf %[[ONE]], %[[E]] : f32
// CHECK-NEXT:      %[[Y:.*]] = arith.divf %[[ONE]], %[[DENOMINATOR]] : f32
// CHECK-NEXT:      linalg.yield %[[Y]] : f32
// CHECK:         } -> tensor<2x3xf32>
func.func @sigmoid(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %r = nn.sigmoid %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %r : tensor<2x3xf32>
}

// -----

// neg is negf on floats and 0 - x on integers; abs of an integer is math.absi.
// CHECK-LABEL: func.func @neg_and_abs
// CHECK:         linalg.generic
// CHECK:           arith.negf %{{.*}} : f32
// CHECK:         } -> tensor<4xf32>
// CHECK:         linalg.generic
// CHECK:           %[[ZERO:.*]] = arith.constant 0 : i32
// CHECK:           arith.subi %[[ZERO]], %{{.*}} : i32
// CHECK:         } -> tensor<4xi32>
// CHECK:         linalg.generic
// CHECK:           math.absi %{{.*}} : i32
// CHECK:         } -> tensor<4xi32>
func.func @neg_and_abs(%f: tensor<4xf32>, %i: tensor<4xi32>) -> (tensor<4xf32>, tensor<4xi32>) {
  %nf = nn.neg %f : (tensor<4xf32>) -> tensor<4xf32>
  %ni = nn.neg %i : (tensor<4xi32>) -> tensor<4xi32>
  %ai = nn.abs %ni : (tensor<4xi32>) -> tensor<4xi32>
  func.return %nf, %ai : tensor<4xf32>, tensor<4xi32>
}

// -----

// not x = x xor true; reciprocal is 1 / x; sign keeps 0, -0 and NaN; is_nan is "unordered
// with itself".
// CHECK-LABEL: func.func @not_reciprocal_sign_is_nan
// CHECK:         linalg.generic
// CHECK:           %[[TRUE:.*]] = arith.constant true
// CHECK:           arith.xori %{{.*}}, %[[TRUE]] : i1
// CHECK:         } -> tensor<4xi1>
// CHECK:         linalg.generic
// CHECK:           %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK:           arith.divf %[[ONE]], %{{.*}} : f32
// CHECK:         } -> tensor<4xf32>
// CHECK:         linalg.generic
// CHECK:           %[[POSITIVE:.*]] = arith.cmpf ogt, %{{.*}}, %{{.*}} : f32
// CHECK:           %[[NEGATIVE:.*]] = arith.cmpf olt, %{{.*}}, %{{.*}} : f32
// CHECK:           %[[MINUS_ONE:.*]] = arith.constant -1.000000e+00 : f32
// CHECK:           %[[SIGNED:.*]] = arith.select %[[NEGATIVE]], %[[MINUS_ONE]], %{{.*}} : f32
// CHECK:           arith.select %[[POSITIVE]], %{{.*}}, %[[SIGNED]] : f32
// CHECK:         } -> tensor<4xf32>
// CHECK:         linalg.generic
// CHECK:           ^bb0(%[[IN:.*]]: f32, %{{.*}}: i1):
// CHECK:           arith.cmpf uno, %[[IN]], %[[IN]] : f32
// CHECK:         } -> tensor<4xi1>
func.func @not_reciprocal_sign_is_nan(%x: tensor<4xf32>, %b: tensor<4xi1>) -> (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>, tensor<4xi1>) {
  %n = nn.not %b : (tensor<4xi1>) -> tensor<4xi1>
  %r = nn.reciprocal %x : (tensor<4xf32>) -> tensor<4xf32>
  %s = nn.sign %x : (tensor<4xf32>) -> tensor<4xf32>
  %i = nn.is_nan %x : (tensor<4xf32>) -> tensor<4xi1>
  func.return %n, %r, %s, %i : tensor<4xi1>, tensor<4xf32>, tensor<4xf32>, tensor<4xi1>
}

// -----

// leaky_relu and elu select the scaled value (alpha x, alpha (e^x - 1)) below 0.
// CHECK-LABEL: func.func @leaky_relu_and_elu
// CHECK:         linalg.generic
// CHECK:           %[[ALPHA:.*]] = arith.constant 5.000000e-01 : f32
// CHECK:           %[[SCALED:.*]] = arith.mulf %[[IN:.*]], %[[ALPHA]] : f32
// CHECK:           %[[BELOW:.*]] = arith.cmpf olt, %[[IN]], %{{.*}} : f32
// CHECK:           arith.select %[[BELOW]], %[[SCALED]], %[[IN]] : f32
// CHECK:         } -> tensor<4xf32>
// CHECK:         linalg.generic
// CHECK:           %[[EXPM1:.*]] = math.expm1 %[[IN2:.*]] : f32
// CHECK:           %[[ALPHA2:.*]] = arith.constant 2.000000e+00 : f32
// CHECK:           %[[SCALED2:.*]] = arith.mulf %[[EXPM1]], %[[ALPHA2]] : f32
// CHECK:           %[[BELOW2:.*]] = arith.cmpf olt, %[[IN2]], %{{.*}} : f32
// CHECK:           arith.select %[[BELOW2]], %[[SCALED2]], %[[IN2]] : f32
// CHECK:         } -> tensor<4xf32>
func.func @leaky_relu_and_elu(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %l = nn.leaky_relu %x {alpha = 0.5 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  %e = nn.elu %x {alpha = 2.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  func.return %l, %e : tensor<4xf32>, tensor<4xf32>
}

// -----

// sub, mul and pow broadcast a row against a matrix: the row's map drops the leading dim.
// CHECK-LABEL: func.func @sub_mul_pow
// CHECK-SAME:    (%[[A:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<3xf32>)
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[A]], %[[B]] : tensor<2x3xf32>, tensor<3xf32>)
// CHECK:           arith.subf %{{.*}}, %{{.*}} : f32
// CHECK:         } -> tensor<2x3xf32>
// CHECK:         linalg.generic
// CHECK:           arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK:         } -> tensor<2x3xf32>
// CHECK:         linalg.generic
// CHECK:           math.powf %{{.*}}, %{{.*}} : f32
// CHECK:         } -> tensor<2x3xf32>
func.func @sub_mul_pow(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %s = nn.sub %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %m = nn.mul %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %p = nn.pow %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  func.return %s, %m, %p : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// An integer base to an integer exponent is math.ipowi, with no float round trip.
// CHECK-LABEL: func.func @pow_int
// CHECK:         linalg.generic
// CHECK:           math.ipowi %{{.*}}, %{{.*}} : i64
// CHECK-NOT:       sitofp
// CHECK:         } -> tensor<4xi64>
func.func @pow_int(%a: tensor<4xi64>, %b: tensor<4xi64>) -> tensor<4xi64> {
  %p = nn.pow %a, %b : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  func.return %p : tensor<4xi64>
}

// -----

// Float comparisons are ordered (NaN compares false) and give i1 tensors.
// CHECK-LABEL: func.func @comparisons
// CHECK:         linalg.generic
// CHECK:           arith.cmpf oeq, %{{.*}}, %{{.*}} : f32
// CHECK:         } -> tensor<4xi1>
// CHECK:         linalg.generic
// CHECK:           arith.cmpf ole, %{{.*}}, %{{.*}} : f32
// CHECK:         } -> tensor<4xi1>
// CHECK:         linalg.generic
// CHECK:           arith.cmpf ogt, %{{.*}}, %{{.*}} : f32
// CHECK:         } -> tensor<4xi1>
// CHECK:         linalg.generic
// CHECK:           arith.cmpf oge, %{{.*}}, %{{.*}} : f32
// CHECK:         } -> tensor<4xi1>
func.func @comparisons(%a: tensor<4xf32>, %b: tensor<4xf32>) -> (tensor<4xi1>, tensor<4xi1>, tensor<4xi1>, tensor<4xi1>) {
  %e = nn.equal %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %le = nn.less_or_equal %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %g = nn.greater %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %ge = nn.greater_or_equal %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  func.return %e, %le, %g, %ge : tensor<4xi1>, tensor<4xi1>, tensor<4xi1>, tensor<4xi1>
}

// -----

// CHECK-LABEL: func.func @logical
// CHECK:         linalg.generic
// CHECK:           arith.andi %{{.*}}, %{{.*}} : i1
// CHECK:         } -> tensor<4xi1>
// CHECK:         linalg.generic
// CHECK:           arith.ori %{{.*}}, %{{.*}} : i1
// CHECK:         } -> tensor<4xi1>
// CHECK:         linalg.generic
// CHECK:           arith.xori %{{.*}}, %{{.*}} : i1
// CHECK:         } -> tensor<4xi1>
func.func @logical(%a: tensor<4xi1>, %b: tensor<4xi1>) -> tensor<4xi1> {
  %x = nn.and %a, %b : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  %y = nn.or %x, %b : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  %z = nn.xor %y, %a : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  func.return %z : tensor<4xi1>
}

// -----

// CHECK-LABEL: func.func @bitwise
// CHECK:         linalg.generic
// CHECK:           arith.andi %{{.*}}, %{{.*}} : i32
// CHECK:         } -> tensor<4xi32>
// CHECK:         linalg.generic
// CHECK:           arith.ori %{{.*}}, %{{.*}} : i32
// CHECK:         } -> tensor<4xi32>
// CHECK:         linalg.generic
// CHECK:           arith.xori %{{.*}}, %{{.*}} : i32
// CHECK:         } -> tensor<4xi32>
func.func @bitwise(%a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<4xi32> {
  %x = nn.bitwise_and %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  %y = nn.bitwise_or %x, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  %z = nn.bitwise_xor %y, %a : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  func.return %z : tensor<4xi32>
}

// -----

// sum folds its inputs left to right over their broadcast shape; min is NaN-propagating
// minimumf; an integer mean divides the sum by the count, truncating.
// CHECK-LABEL: func.func @sum_min_mean
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (0)>, affine_map<(d0) -> (d0)>]
// CHECK:           %[[AB:.*]] = arith.addf %{{.*}}, %{{.*}} : f32
// CHECK:           arith.addf %[[AB]], %{{.*}} : f32
// CHECK:         } -> tensor<3xf32>
// CHECK:         linalg.generic
// CHECK:           arith.minimumf %{{.*}}, %{{.*}} : f32
// CHECK:         } -> tensor<3xf32>
// CHECK:         linalg.generic
// CHECK:           %[[SUM:.*]] = arith.addi %{{.*}}, %{{.*}} : i32
// CHECK:           %[[COUNT:.*]] = arith.constant 2 : i32
// CHECK:           arith.divsi %[[SUM]], %[[COUNT]] : i32
// CHECK:         } -> tensor<3xi32>
func.func @sum_min_mean(%a: tensor<3xf32>, %b: tensor<3xf32>, %c: tensor<1xf32>, %i: tensor<3xi32>, %j: tensor<3xi32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<3xi32>) {
  %s = nn.sum %a, %b, %c : (tensor<3xf32>, tensor<3xf32>, tensor<1xf32>) -> tensor<3xf32>
  %m = nn.min %a, %b : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %n = nn.mean %i, %j : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi32>
  func.return %s, %m, %n : tensor<3xf32>, tensor<3xf32>, tensor<3xi32>
}
