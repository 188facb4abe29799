// npu-partition: every conv npu-annotate placed on the NPU is outlined, with the residual
// add and ReLU its epilogue takes, into @npu_region_N {terrace.target = "npu"} and called in
// its place; every other nn op says why it stays on the CPU.

// RUN: terrace-opt %s --split-input-file -p npu-annotate | terrace-opt --split-input-file -p npu-partition | filecheck %s

// A residual block: conv (with bias) -> add -> relu -> max pool. The conv, add and ReLU
// become @npu_region_0(x, r); the pool stays, with its reason; the weights move into the
// region (nothing else reads them).
// CHECK-LABEL: func.func @block
// CHECK-NEXT:    %{{.*}} = func.call @npu_region_0(%x, %r) : (tensor<1x32x8x8xf32>, tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32>
// CHECK-NEXT:    nn.max_pool {{.*}}npu.device = "cpu", npu.reason = "pooling and softmax are out of scope for TNPU-1 v1"
// CHECK-NEXT:    func.return
// CHECK:       func.func private @npu_region_0(%{{.*}}: tensor<1x32x8x8xf32>, %{{.*}}: tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32> attributes {terrace.target = "npu"}
// CHECK-NEXT:    nn.weight "w"
// CHECK-NEXT:    nn.weight "b"
// CHECK-NEXT:    nn.conv {{.*}}npu.device = "npu", npu.reason = "conv layer mapped"
// CHECK-NEXT:    nn.add {{.*}}npu.device = "npu", npu.reason = "residual add fused into the conv of @npu_region_0"
// CHECK-NEXT:    nn.relu {{.*}}npu.device = "npu", npu.reason = "ReLU fused into the conv of @npu_region_0"
// CHECK-NEXT:    func.return
func.func @block(%x: tensor<1x32x8x8xf32>, %r: tensor<1x32x8x8xf32>) -> tensor<1x32x4x4xf32> {
  %w = nn.weight "w" : tensor<32x32x3x3xf32>
  %b = nn.weight "b" : tensor<32xf32>
  %c = nn.conv %x, %w, %b {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x32x8x8xf32>, tensor<32x32x3x3xf32>, tensor<32xf32>) -> tensor<1x32x8x8xf32>
  %a = nn.add %c, %r : (tensor<1x32x8x8xf32>, tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32>
  %y = nn.relu %a : (tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32>
  %p = nn.max_pool %y {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x32x8x8xf32>) -> tensor<1x32x4x4xf32>
  func.return %p : tensor<1x32x4x4xf32>
}

// -----

// A stem conv stays (its reason is npu-annotate's); the second conv's result has two users,
// so no epilogue fuses: the region is the conv alone, and the add and ReLU stay on the CPU.
// Two mapped convs give two regions, numbered in order.
// CHECK-LABEL: func.func @two
// CHECK-NEXT:    nn.weight "w0"
// CHECK-NEXT:    nn.conv {{.*}}npu.device = "cpu", npu.reason = "Cin 3 < 16: the 16-lane GEMM would run 3/16 full"
// CHECK-NEXT:    %[[C1:.*]] = func.call @npu_region_0(
// CHECK-NEXT:    nn.add %[[C1]], %[[C1]] {npu.device = "cpu", npu.reason = "not fused into an NPU conv: runs with the CPU code around it"}
// CHECK-NEXT:    nn.relu {{.*}}npu.device = "cpu"
// CHECK-NEXT:    func.call @npu_region_1(
// CHECK-NEXT:    func.return
// CHECK:       func.func private @npu_region_0(
// CHECK-NOT:     nn.add
// CHECK:       func.func private @npu_region_1(
func.func @two(%x: tensor<1x3x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w0 = nn.weight "w0" : tensor<16x3x1x1xf32>
  %w1 = nn.weight "w1" : tensor<16x16x1x1xf32>
  %c0 = nn.conv %x, %w0 : (tensor<1x3x8x8xf32>, tensor<16x3x1x1xf32>) -> tensor<1x16x8x8xf32>
  %c1 = nn.conv %c0, %w1 : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32>
  %a = nn.add %c1, %c1 : (tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32>
  %r = nn.relu %a : (tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32>
  %c2 = nn.conv %r, %w1 : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32>
  func.return %c2 : tensor<1x16x8x8xf32>
}

// -----

// A matmul takes a bias add of a constant row (not a residual) and a ReLU.
// CHECK-LABEL: func.func @fc
// CHECK-NEXT:    func.call @npu_region_0(%x) : (tensor<4x32xf32>) -> tensor<4x16xf32>
// CHECK-NEXT:    func.return
// CHECK:       func.func private @npu_region_0(%{{.*}}: tensor<4x32xf32>) -> tensor<4x16xf32> attributes {terrace.target = "npu"}
// CHECK-NEXT:    nn.weight "b"
// CHECK-NEXT:    nn.weight "c"
// CHECK-NEXT:    nn.matmul {{.*}}npu.reason = "matmul layer mapped"
// CHECK-NEXT:    nn.add {{.*}}npu.reason = "bias add fused into the matmul of @npu_region_0"
// CHECK-NEXT:    nn.relu {{.*}}npu.reason = "ReLU fused into the matmul of @npu_region_0"
func.func @fc(%x: tensor<4x32xf32>) -> tensor<4x16xf32> {
  %b = nn.weight "b" : tensor<32x16xf32>
  %c = nn.weight "c" : tensor<16xf32>
  %m = nn.matmul %x, %b : (tensor<4x32xf32>, tensor<32x16xf32>) -> tensor<4x16xf32>
  %a = nn.add %m, %c : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %y = nn.relu %a : (tensor<4x16xf32>) -> tensor<4x16xf32>
  func.return %y : tensor<4x16xf32>
}

// -----

// A residual that is also the conv's input (an identity shortcut around a 1x1 conv), added
// by nn.sum (ONNX's Sum, as in ResNet-50): the region takes it twice, as its input and as its
// residual, so that the launch binds each to its own DRAM segment.
// CHECK-LABEL: func.func @shortcut
// CHECK-NEXT:    %{{.*}} = func.call @npu_region_0(%x, %x) : (tensor<1x16x4x4xf32>, tensor<1x16x4x4xf32>) -> tensor<1x16x4x4xf32>
// CHECK:       func.func private @npu_region_0(%[[IN:.*]]: tensor<1x16x4x4xf32>, %[[RES:.*]]: tensor<1x16x4x4xf32>)
// CHECK:         %[[C:.*]] = nn.conv %[[IN]],
// CHECK-NEXT:    nn.sum %[[C]], %[[RES]] {{.*}}npu.device = "npu", npu.reason = "residual add fused into the conv of @npu_region_0"
func.func @shortcut(%x: tensor<1x16x4x4xf32>) -> tensor<1x16x4x4xf32> {
  %w = nn.weight "w" : tensor<16x16x1x1xf32>
  %c = nn.conv %x, %w : (tensor<1x16x4x4xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x4x4xf32>
  %s = nn.sum %c, %x : (tensor<1x16x4x4xf32>, tensor<1x16x4x4xf32>) -> tensor<1x16x4x4xf32>
  func.return %s : tensor<1x16x4x4xf32>
}
