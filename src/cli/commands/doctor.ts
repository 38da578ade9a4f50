import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import { GraphBuilder } from '../../graph/builder.js';
import { encodeModel } from '../../graph/onnx-proto.js';
import { add } from '../../graph/ops/index.js';
import { createBackend, loadRuntime, missingCudaProviderLibrary, type Device } from '../../runtime/backend.js';

interface DoctorArgs {
  json: boolean;
  'device-id': number;
}

export interface DoctorReport {
  node: string;
  platform: string;
  cpus: { model: string; cores: number };
  onnxruntime: Record<string, string>;
  providers: { cpu: ProviderCheck; cuda: ProviderCheck; wasm: ProviderCheck };
  gpus: string[];
}

interface ProviderCheck {
  ok: boolean;
  /** False only for an optional provider that is absent (CUDA without its libraries): not a failure. */
  installed: boolean;
  detail: string;
}

/** The one line that tells a CPU-only machine how to get the optional CUDA provider. */
export const CUDA_HINT = 'to train on NVIDIA GPUs, install it as docs/gpu.md (in the onnx-cil package) describes';

/** A one-node model run on a provider with no fallback: proves the provider loads and computes. */
async function checkProvider(runtime: 'node' | 'web', device: Device | 'wasm', deviceId: number): Promise<ProviderCheck> {
  const g = new GraphBuilder('doctor');
  const x = g.input('x', 'float32', [4]);
  g.output(add(x, g.constF32(1)), 'y');
  try {
    const { ort, session } = await createBackend(encodeModel(g.toModel()), {
      runtime,
      device: device === 'wasm' ? 'cpu' : device,
      deviceId,
      threads: 1,
      logSeverityLevel: 4,
    });
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4), [4]) });
    const y = Array.from(out['y']!.data as Float32Array);
    await session.release();
    const ok = y.join(',') === '2,3,4,5';
    return { ok, installed: true, detail: ok ? 'loads and runs' : `wrong result ${y.join(',')}` };
  } catch (err) {
    return { ok: false, installed: true, detail: (err as Error).message.split('\n')[0]! };
  }
}

/** The CUDA provider: "not installed" when its libraries are absent (the npm default), else a real run. */
async function checkCuda(deviceId: number): Promise<ProviderCheck> {
  const missing = await missingCudaProviderLibrary();
  if (missing) return { ok: false, installed: false, detail: `not installed (${missing} is absent)` };
  return checkProvider('node', 'cuda', deviceId);
}

/**
 * One provider's line: ok, not installed (optional, not a failure), or FAIL with the reason.
 * @example providerLine({ ok: false, installed: false, detail: 'not installed' }); // 'not installed (optional)'
 */
export function providerLine(c: ProviderCheck): string {
  if (c.ok) return `ok   ${c.detail}`;
  if (!c.installed) return 'not installed (optional)';
  return `FAIL ${c.detail}`;
}

function listGpus(): string[] {
  try {
    return execFileSync('nvidia-smi', ['-L'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 })
      .trim()
      .split('\n')
      .filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Checks the runtimes and execution providers this machine can use.
 * @example const report = await runDoctor(0); report.providers.cuda.ok;
 */
export async function runDoctor(deviceId = 0): Promise<DoctorReport> {
  const ort = await loadRuntime('node');
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: { model: cpus()[0]?.model ?? 'unknown', cores: availableParallelism() },
    onnxruntime: { ...(ort.env.versions as Record<string, string>) },
    providers: {
      cpu: await checkProvider('node', 'cpu', deviceId),
      cuda: await checkCuda(deviceId),
      wasm: await checkProvider('web', 'wasm', deviceId),
    },
    gpus: listGpus(),
  };
}

export const doctorCommand: CommandModule<object, DoctorArgs> = {
  command: 'doctor',
  describe: 'Check Node, onnxruntime, the CPU/CUDA/wasm providers and GPU visibility',
  builder: (y: Argv) => y.option('json', { type: 'boolean', default: false }).option('device-id', { type: 'number', default: 0 }) as Argv<DoctorArgs>,
  handler: async (a) => {
    const r = await runDoctor(a['device-id']);
    if (a.json) {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return;
    }
    const lines = [
      `node ${r.node} on ${r.platform}, ${r.cpus.cores} cores (${r.cpus.model})`,
      `onnxruntime ${Object.entries(r.onnxruntime)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
      `provider cpu  (onnxruntime-node): ${providerLine(r.providers.cpu)}`,
      `provider cuda (onnxruntime-node): ${providerLine(r.providers.cuda)}`,
      ...(r.providers.cuda.installed ? [] : [`  ${CUDA_HINT}`]),
      `provider wasm (onnxruntime-web):  ${providerLine(r.providers.wasm)}`,
      `GPUs: ${r.gpus.length ? r.gpus.join('; ') : 'none visible (nvidia-smi not found or no devices)'}`,
      ...(r.providers.cuda.installed && !r.providers.cuda.ok ? ['CUDA set-up: see docs/gpu.md'] : []),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};
