// REQUIRES: mlir-opt-22
// RUN: terrace-opt %s -p convert-arith-to-signless --split-input-file | filecheck %s
// RUN: terrace-opt %s -p convert-arith-to-signless --split-input-file | mlir-opt-22 --verify-each --split-input-file | filecheck %s --check-prefix=UPSTREAM

// Unsigned operands are bit-cast to signless, the op computes there (its name says how it
// treats the bits), an unsigned result is cast back; signless and float ops stay.

// CHECK-LABEL: func.func @unsigned
// CHECK-SAME:  (%[[A:[^:]*]]: ui8, %[[B:[^:]*]]: ui8
// CHECK:       %[[A8:.*]] = builtin.unrealized_conversion_cast %[[A]] : ui8 to i8
// CHECK-NEXT:  %[[B8:.*]] = builtin.unrealized_conversion_cast %[[B]] : ui8 to i8
// CHECK-NEXT:  %[[Q8:.*]] = arith.divui %[[A8]], %[[B8]] : i8
// CHECK-NEXT:  %[[Q:.*]] = builtin.unrealized_conversion_cast %[[Q8]] : i8 to ui8
// CHECK:       arith.cmpi ult, %{{.*}}, %{{.*}} : i8
// CHECK:       arith.uitofp %{{.*}} : i8 to f32
// CHECK:       %[[F:.*]] = arith.addf %{{.*}}, %{{.*}} : f32
// CHECK-NOT:   unrealized_conversion_cast %[[F]]
// CHECK:       func.return %[[Q]],
// UPSTREAM-LABEL: func.func @unsigned
// UPSTREAM:       arith.divui %{{.*}}, %{{.*}} : i8
func.func @unsigned(%a: ui8, %b: ui8, %x: f32) -> (ui8, i1, f32) {
  %q = arith.divui %a, %b : ui8
  %c = arith.cmpi ult, %a, %b : ui8
  %f = arith.uitofp %b : ui8 to f32
  %s = arith.addf %f, %x : f32
  func.return %q, %c, %s : ui8, i1, f32
}

// -----

// Vectors of unsigned integers too.

// CHECK-LABEL: func.func @unsigned_vector
// CHECK:       builtin.unrealized_conversion_cast %{{.*}} : vector<4xui16> to vector<4xi16>
// CHECK:       arith.maxui %{{.*}}, %{{.*}} : vector<4xi16>
// CHECK:       builtin.unrealized_conversion_cast %{{.*}} : vector<4xi16> to vector<4xui16>
func.func @unsigned_vector(%a: vector<4xui16>, %b: vector<4xui16>) -> vector<4xui16> {
  %m = arith.maxui %a, %b : vector<4xui16>
  func.return %m : vector<4xui16>
}
