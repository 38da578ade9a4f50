/**
 * The device the numerical tests run on: CPU by default; `ONNX_CIL_TEST_DEVICE=cuda` runs the same gradient and
 * training checks on onnxruntime's CUDA provider (with the CPU tolerances) on a GPU machine.
 */
import type { BackendOptions } from '../../src/runtime/backend.js';

export const TEST_DEVICE = (process.env['ONNX_CIL_TEST_DEVICE'] ?? 'cpu') as 'cpu' | 'cuda';

/**
 * The checks compare float32 results with the CPU's tolerances, so TensorFloat-32 (10-bit mantissa products, which
 * cuBLAS and cuDNN use by default on Ampere and newer) is switched off; it must be set before the first CUDA session.
 */
export function requireFullFloat32OnCuda(): void {
  process.env['NVIDIA_TF32_OVERRIDE'] ??= '0';
}
if (TEST_DEVICE === 'cuda') requireFullFloat32OnCuda();

/** Backend options for test sessions on the selected device. */
export const testBackend: BackendOptions = { device: TEST_DEVICE };

/** Training-mode BatchNorm formulation that the selected device runs (CUDA refuses the op in training mode). */
export const testBatchNormKernel: 'fused' | 'primitives' = TEST_DEVICE === 'cuda' ? 'primitives' : 'fused';
