"""The host launch sequence (npu-outline-launch's accfg.setup / launch / await and npu.result)
executed: the module runs in xDSL's interpreter with every launch on the TNPU-1 simulator, and
computes what onnxruntime computes for the model."""

from __future__ import annotations

import numpy as np
import pytest
from test_npu_passes import _apply, _block_model, _nn_module
from xdsl.dialects import accfg, func

from terrace.targets.npu.isa import NpuConfig
from terrace.targets.npu.launch import NpuLaunchError, run_launches
from terrace.targets.npu.pipeline import npu_pipeline, pipeline_spec

from onnx_models import run_onnxruntime


@pytest.mark.parametrize("tiny", [False, True], ids=["default", "tiny"])
def test_the_launch_sequence_runs_on_the_simulator(tiny: bool) -> None:
    model = _block_model(16, 32, 12, 3, 1)
    module = _nn_module(model)
    _apply(module, pipeline_spec(npu_pipeline(tiny=tiny)) + ",npu-outline-launch")
    main = next(
        f for f in module.walk() if isinstance(f, func.FuncOp) and f.sym_name.data == "main"
    )
    assert not [c for c in main.walk() if isinstance(c, func.CallOp)]  # no region call is left
    assert len([op for op in main.walk() if isinstance(op, accfg.LaunchOp)]) == 2
    x = np.random.default_rng(3).standard_normal((1, 3, 12, 12)).astype(np.float32)
    config = NpuConfig.tiny() if tiny else NpuConfig()
    (y,), launches = run_launches(module, [x], config)
    # region 0 is the 3x3 conv with the add (outlined first), region 1 the 1x1 whose result
    # is its residual: that one launches first
    assert [launch.program for launch in launches] == ["npu_region_1_tnpu", "npu_region_0_tnpu"]
    assert all(launch.cycles > 0 for launch in launches)
    (expected,) = run_onnxruntime(model, {"x": x})
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)


def test_a_setup_without_its_program_is_one_clear_error() -> None:
    module = _nn_module(_block_model(16, 32, 12, 3, 1))
    _apply(module, pipeline_spec(npu_pipeline()) + ",npu-outline-launch")
    for setup in [op for op in module.walk() if isinstance(op, accfg.SetupOp)]:
        del setup.attributes["npu.program"]
    x = np.zeros((1, 3, 12, 12), np.float32)
    with pytest.raises(NpuLaunchError, match="has no npu.program and npu.region symbols"):
        run_launches(module, [x], NpuConfig())
