/** `onnx-cil doctor` and CUDA selection on a machine without the optional CUDA provider. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { CUDA_HINT, providerLine, runDoctor } from '../../src/cli/commands/doctor.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { encodeModel } from '../../src/graph/onnx-proto.js';
import { add } from '../../src/graph/ops/index.js';
import { createBackend, missingCudaProviderLibrary } from '../../src/runtime/backend.js';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const missing = await missingCudaProviderLibrary();
const noProvider = missing ? false : 'the CUDA provider is installed here; these checks are for machines without it';

test('a provider line says ok, not installed (optional), or FAIL with the reason', () => {
  assert.equal(providerLine({ ok: true, installed: true, detail: 'loads and runs' }), 'ok   loads and runs');
  assert.equal(providerLine({ ok: false, installed: false, detail: 'not installed (x.so is absent)' }), 'not installed (optional)');
  assert.equal(providerLine({ ok: false, installed: true, detail: 'missing libcublasLt.so.13' }), 'FAIL missing libcublasLt.so.13');
});

test('doctor reports the absent CUDA provider as optional, with no raw onnxruntime error', { skip: noProvider }, async () => {
  const report = await runDoctor();
  assert.equal(report.providers.cpu.ok, true);
  assert.deepEqual(report.providers.cuda, { ok: false, installed: false, detail: `not installed (${missing} is absent)` });
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'doctor'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^provider cuda \(onnxruntime-node\): not installed \(optional\)\n {2}(.+)$/m);
  assert.ok(r.stdout.includes(`  ${CUDA_HINT}\n`), r.stdout);
  assert.doesNotMatch(r.stdout, /FAIL/);
  assert.doesNotMatch(r.stderr, /ONNXRuntimeError|Failed to load library/);
});

test('without the provider, --device cuda fails with a clear message and --device auto uses the CPU, silently', { skip: noProvider }, () => {
  // In a child process, so that onnxruntime's native logging to stderr would be seen.
  const script = `
import { GraphBuilder } from './src/graph/builder.ts';
import { encodeModel } from './src/graph/onnx-proto.ts';
import { add } from './src/graph/ops/index.ts';
import { createBackend } from './src/runtime/backend.ts';
const g = new GraphBuilder('probe');
g.output(add(g.input('x', 'float32', [1]), g.constF32(1)), 'y');
const model = encodeModel(g.toModel());
const auto = await createBackend(model, { device: 'auto' });
console.log('auto -> ' + auto.device);
await createBackend(model, { device: 'cuda' }).catch((e) => console.log('cuda -> ' + e.message.split('\\n')[0]));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    cwd: new URL('../..', import.meta.url).pathname,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(
    r.stdout,
    `auto -> cpu\ncuda -> the CUDA execution provider could not be loaded (missing ${missing}): onnxruntime-node's folder holds no CUDA provider\n`,
  );
  assert.equal(r.stderr, '');
});

test('createBackend on the CPU is unaffected by the CUDA check', async () => {
  const g = new GraphBuilder('cpu');
  g.output(add(g.input('x', 'float32', [2]), g.constF32(1)), 'y');
  const { ort, session, device } = await createBackend(encodeModel(g.toModel()), { device: 'cpu' });
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2), [2]) });
  assert.equal(device, 'cpu');
  assert.deepEqual(Array.from(out['y']!.data as Float32Array), [2, 3]);
  await session.release();
});
