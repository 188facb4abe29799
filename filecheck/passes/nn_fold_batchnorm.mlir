// RUN: terrace-opt %s -p nn-fold-batchnorm --split-input-file | filecheck %s

// CHECK-LABEL: func.func @conv_without_bias
// CHECK-SAME:  (%[[X:.*]]: tensor<1x2x4x4xf32>)
// CHECK-DAG:   %[[W:.*]] = nn.weight "conv.weight.bn_folded" : tensor<2x2x3x3xf32>
// CHECK-DAG:   %[[B:.*]] = nn.weight "conv.bias.bn_folded" : tensor<2xf32>
// CHECK:       %[[Y:.*]] = nn.conv %[[X]], %[[W]], %[[B]]
// CHECK-NOT:   nn.batch_normalization
// CHECK:       func.return %[[Y]]
func.func @conv_without_bias(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> {
  %w = nn.constant {value = dense<1.0> : tensor<2x2x3x3xf32>} : tensor<2x2x3x3xf32>
  %scale = nn.constant {value = dense<[1.0, 2.0]> : tensor<2xf32>} : tensor<2xf32>
  %shift = nn.constant {value = dense<[0.5, -0.5]> : tensor<2xf32>} : tensor<2xf32>
  %mean = nn.constant {value = dense<[0.1, 0.2]> : tensor<2xf32>} : tensor<2xf32>
  %var = nn.constant {value = dense<[1.0, 4.0]> : tensor<2xf32>} : tensor<2xf32>
  %0 = nn.conv %x, %w : (tensor<1x2x4x4xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x2x2xf32>
  %1 = nn.batch_normalization %0, %scale, %shift, %mean, %var : (tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  func.return %1 : tensor<1x2x2x2xf32>
}

// -----

// CHECK-LABEL: func.func @depthwise_conv_with_bias
// CHECK:       %[[Y:.*]] = nn.conv %{{.*}}, %{{.*}}, %{{.*}} {group = 2 : i64}
// CHECK-NOT:   nn.batch_normalization
// CHECK:       func.return %[[Y]]
func.func @depthwise_conv_with_bias(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> {
  %w = nn.constant {value = dense<1.0> : tensor<2x1x3x3xf32>} : tensor<2x1x3x3xf32>
  %b = nn.constant {value = dense<[0.25, 0.75]> : tensor<2xf32>} : tensor<2xf32>
  %scale = nn.constant {value = dense<[1.0, 2.0]> : tensor<2xf32>} : tensor<2xf32>
  %shift = nn.constant {value = dense<[0.5, -0.5]> : tensor<2xf32>} : tensor<2xf32>
  %mean = nn.constant {value = dense<[0.1, 0.2]> : tensor<2xf32>} : tensor<2xf32>
  %var = nn.constant {value = dense<[1.0, 4.0]> : tensor<2xf32>} : tensor<2xf32>
  %0 = nn.conv %x, %w, %b {group = 2 : i64} : (tensor<1x2x4x4xf32>, tensor<2x1x3x3xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  %1 = nn.batch_normalization %0, %scale, %shift, %mean, %var : (tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  func.return %1 : tensor<1x2x2x2xf32>
}

// -----

// CHECK-LABEL: func.func @gemm_transposed_with_bias
// CHECK-SAME:  (%[[A:.*]]: tensor<3x4xf32>)
// CHECK-DAG:   %[[W:.*]] = nn.weight "gemm.weight.bn_folded" : tensor<2x4xf32>
// CHECK-DAG:   %[[C:.*]] = nn.weight "gemm.bias.bn_folded" : tensor<2xf32>
// CHECK:       %[[Y:.*]] = nn.gemm %[[A]], %[[W]], %[[C]] {transB = 1 : i64}
// CHECK-NOT:   nn.batch_normalization
// CHECK:       func.return %[[Y]]
func.func @gemm_transposed_with_bias(%a: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = nn.constant {value = dense<1.0> : tensor<2x4xf32>} : tensor<2x4xf32>
  %c = nn.constant {value = dense<[0.25, 0.75]> : tensor<2xf32>} : tensor<2xf32>
  %scale = nn.constant {value = dense<[1.0, 2.0]> : tensor<2xf32>} : tensor<2xf32>
  %shift = nn.constant {value = dense<[0.5, -0.5]> : tensor<2xf32>} : tensor<2xf32>
  %mean = nn.constant {value = dense<[0.1, 0.2]> : tensor<2xf32>} : tensor<2xf32>
  %var = nn.constant {value = dense<[1.0, 4.0]> : tensor<2xf32>} : tensor<2xf32>
  %0 = nn.gemm %a, %w, %c {transB = 1 : i64, beta = 2.0 : f64} : (tensor<3x4xf32>, tensor<2x4xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %1 = nn.batch_normalization %0, %scale, %shift, %mean, %var : (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  func.return %1 : tensor<3x2xf32>
}

// -----

// A convolution whose weight is not constant is left alone.
// CHECK-LABEL: func.func @conv_weight_not_constant
// CHECK:       nn.conv
// CHECK:       nn.batch_normalization
func.func @conv_weight_not_constant(%x: tensor<1x2x4x4xf32>, %w: tensor<2x2x3x3xf32>) -> tensor<1x2x2x2xf32> {
  %scale = nn.constant {value = dense<[1.0, 2.0]> : tensor<2xf32>} : tensor<2xf32>
  %shift = nn.constant {value = dense<[0.5, -0.5]> : tensor<2xf32>} : tensor<2xf32>
  %0 = nn.conv %x, %w : (tensor<1x2x4x4xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x2x2xf32>
  %1 = nn.batch_normalization %0, %scale, %shift, %shift, %scale : (tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  func.return %1 : tensor<1x2x2x2xf32>
}

// -----

// A convolution with another user keeps its output: the BN is left.
// CHECK-LABEL: func.func @conv_with_two_users
// CHECK:       nn.batch_normalization
func.func @conv_with_two_users(%x: tensor<1x2x4x4xf32>) -> (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) {
  %w = nn.constant {value = dense<1.0> : tensor<2x2x3x3xf32>} : tensor<2x2x3x3xf32>
  %scale = nn.constant {value = dense<[1.0, 2.0]> : tensor<2xf32>} : tensor<2xf32>
  %shift = nn.constant {value = dense<[0.5, -0.5]> : tensor<2xf32>} : tensor<2xf32>
  %0 = nn.conv %x, %w : (tensor<1x2x4x4xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x2x2xf32>
  %1 = nn.batch_normalization %0, %scale, %shift, %shift, %scale : (tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  func.return %0, %1 : tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>
}
