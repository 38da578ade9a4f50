/**
 * The device the numerical tests run on: CPU by default; `ONNX_CIL_TEST_DEVICE=cuda` runs the same gradient and
 * training checks on onnxruntime's CUDA provider (with the CPU tolerances) on a GPU machine.
 */
import type { BackendOptions } from '../../src/runtime/backend.js';

export const TEST_DEVICE = (process.env['ONNX_CIL_TEST_DEVICE'] ?? 'cpu') as 'cpu' | 'cuda';

/** Backend options for test sessions on the selected device. */
export const testBackend: BackendOptions = { device: TEST_DEVICE };
