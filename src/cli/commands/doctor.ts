import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import { GraphBuilder } from '../../graph/builder.js';
import { encodeModel } from '../../graph/onnx-proto.js';
import { add } from '../../graph/ops/index.js';
import { createBackend, loadRuntime, type Device } from '../../runtime/backend.js';

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
  detail: string;
}

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
    return { ok, detail: ok ? 'loads and runs' : `wrong result ${y.join(',')}` };
  } catch (err) {
    return { ok: false, detail: (err as Error).message.split('\n')[0]! };
  }
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
      cuda: await checkProvider('node', 'cuda', deviceId),
      wasm: await checkProvider('web', 'wasm', deviceId),
    },
    gpus: listGpus(),
  };
}

export const doctorCommand: CommandModule<object, DoctorArgs> = {
  command: 'doctor',
  describe: 'Check Node, onnxruntime, the CPU/CUDA/wasm providers and GPU visibility',
  builder: (y: Argv) =>
    y.option('json', { type: 'boolean', default: false }).option('device-id', { type: 'number', default: 0 }) as Argv<DoctorArgs>,
  handler: async (a) => {
    const r = await runDoctor(a['device-id']);
    if (a.json) {
      process.stdout.write(JSON.stringify(r) + '\n');
      return;
    }
    const mark = (c: ProviderCheck) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.detail}`;
    process.stdout.write(
      [
        `node ${r.node} on ${r.platform}, ${r.cpus.cores} cores (${r.cpus.model})`,
        `onnxruntime ${Object.entries(r.onnxruntime).map(([k, v]) => `${k} ${v}`).join(', ')}`,
        `provider cpu  (onnxruntime-node): ${mark(r.providers.cpu)}`,
        `provider cuda (onnxruntime-node): ${mark(r.providers.cuda)}`,
        `provider wasm (onnxruntime-web):  ${mark(r.providers.wasm)}`,
        `GPUs: ${r.gpus.length ? r.gpus.join('; ') : 'none visible (nvidia-smi not found or no devices)'}`,
        ...(r.providers.cuda.ok ? [] : ['CUDA set-up: see docs/gpu.md']),
      ].join('\n') + '\n',
    );
  },
};
