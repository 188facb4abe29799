// npu-outline-launch: each call of an NPU region becomes accfg.setup "tnpu" (the program's
// instruction and uop counts, the operands by DRAM segment name), accfg.launch, accfg.await
// and npu.result (the program's output tensor); the setups of one function chain their states.

// RUN: terrace-opt %s --split-input-file -p convert-linalg-to-npu | terrace-opt --split-input-file --verify-diagnostics -p npu-outline-launch | filecheck %s

// Two layers: a 1x1 conv (its program: LOAD UOP, reset GEMM, LOAD INP, LOAD WGT, GEMM,
// STORE, FINISH = 7 instructions, 1 uop), then a 1x1 conv with a residual add (LOAD UOP,
// LOAD ACC, LOAD INP, LOAD WGT, GEMM, STORE, FINISH = 7, 1 uop) whose operands are the
// first layer's result and %r; the ReLU after them stays on the CPU and reads the second
// npu.result.
// CHECK-LABEL: func.func @main
// CHECK-NEXT:    %[[N0:.*]] = arith.constant 7 : i32
// CHECK-NEXT:    %[[U0:.*]] = arith.constant 1 : i32
// CHECK-NEXT:    %[[S0:.*]] = accfg.setup "tnpu" to ("insn_count" = %[[N0]] : i32, "uop_count" = %[[U0]] : i32, "input" = %x : tensor<1x16x2x2xf32>) attrs {npu.program = @npu_region_0_tnpu, npu.region = @npu_region_0} : !accfg.state<"tnpu">
// CHECK-NEXT:    %[[T0:.*]] = "accfg.launch"(%[[S0]])
// CHECK-NEXT:    "accfg.await"(%[[T0]])
// CHECK-NEXT:    %[[Y0:.*]] = npu.result @npu_region_0_tnpu from %[[S0]] : !accfg.state<"tnpu"> -> tensor<1x16x2x2xf32>
// CHECK-NEXT:    %[[N1:.*]] = arith.constant 7 : i32
// CHECK-NEXT:    %[[U1:.*]] = arith.constant 1 : i32
// CHECK-NEXT:    %[[S1:.*]] = accfg.setup "tnpu" from %[[S0]] to ("insn_count" = %[[N1]] : i32, "uop_count" = %[[U1]] : i32, "input" = %[[Y0]] : tensor<1x16x2x2xf32>, "residual" = %r : tensor<1x16x2x2xf32>) attrs {npu.program = @npu_region_1_tnpu, npu.region = @npu_region_1} : !accfg.state<"tnpu">
// CHECK-NEXT:    %[[T1:.*]] = "accfg.launch"(%[[S1]])
// CHECK-NEXT:    "accfg.await"(%[[T1]])
// CHECK-NEXT:    %[[Y1:.*]] = npu.result @npu_region_1_tnpu from %[[S1]] : !accfg.state<"tnpu"> -> tensor<1x16x2x2xf32>
// CHECK-NEXT:    %{{.*}} = nn.relu %[[Y1]]
// CHECK-NOT:     func.call
// CHECK:       func.func private @npu_region_0
// CHECK:       npu.program @npu_region_0_tnpu
func.func @main(%x: tensor<1x16x2x2xf32>, %r: tensor<1x16x2x2xf32>) -> tensor<1x16x2x2xf32> {
  %a = func.call @npu_region_0(%x) : (tensor<1x16x2x2xf32>) -> tensor<1x16x2x2xf32>
  %b = func.call @npu_region_1(%a, %r) : (tensor<1x16x2x2xf32>, tensor<1x16x2x2xf32>) -> tensor<1x16x2x2xf32>
  %y = nn.relu %b : (tensor<1x16x2x2xf32>) -> tensor<1x16x2x2xf32>
  func.return %y : tensor<1x16x2x2xf32>
}
func.func private @npu_region_0(%x: tensor<1x16x2x2xf32>) -> tensor<1x16x2x2xf32> attributes {terrace.target = "npu", npu.tiling = array<i64: 1, 2, 2, 1, 1>} {
  %w = nn.weight "w0" : tensor<16x16x1x1xf32>
  %y = nn.conv %x, %w : (tensor<1x16x2x2xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x2x2xf32>
  func.return %y : tensor<1x16x2x2xf32>
}
func.func private @npu_region_1(%x: tensor<1x16x2x2xf32>, %r: tensor<1x16x2x2xf32>) -> tensor<1x16x2x2xf32> attributes {terrace.target = "npu", npu.tiling = array<i64: 1, 2, 2, 1, 1>} {
  %w = nn.weight "w1" : tensor<16x16x1x1xf32>
  %c = nn.conv %x, %w : (tensor<1x16x2x2xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x2x2xf32>
  %a = nn.add %c, %r : (tensor<1x16x2x2xf32>, tensor<1x16x2x2xf32>) -> tensor<1x16x2x2xf32>
  func.return %a : tensor<1x16x2x2xf32>
}

// -----

// A region convert-linalg-to-npu did not reach (no npu.tiling: it skips it here) has no
// program to launch.
// CHECK: npu-outline-launch: @npu_region_0 has no npu.program (run convert-linalg-to-npu first)
func.func @main(%x: tensor<1x16x2x2xf32>) -> tensor<1x16x2x2xf32> {
  %y = func.call @npu_region_0(%x) : (tensor<1x16x2x2xf32>) -> tensor<1x16x2x2xf32>
  func.return %y : tensor<1x16x2x2xf32>
}
func.func private @npu_region_0(%x: tensor<1x16x2x2xf32>) -> tensor<1x16x2x2xf32> attributes {terrace.target = "npu", npu.program = "missing_tnpu"} {
  %w = nn.weight "w0" : tensor<16x16x1x1xf32>
  %y = nn.conv %x, %w : (tensor<1x16x2x2xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x2x2xf32>
  func.return %y : tensor<1x16x2x2xf32>
}
