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
