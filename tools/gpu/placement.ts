/**
 * Checks that every node of our training graphs runs on onnxruntime's CUDA provider: each graph is loaded with
 * CPU fallback disabled; a graph that needs the CPU is reported with onnxruntime's verbose placement lines.
 * Run on a GPU machine: node build/tools/gpu/placement.js
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBackend } from '../../src/runtime/backend.js';
import { buildTrainWorkload } from '../bench/workloads.js';
import { parseToolArgs } from '../lib/args.js';

/** Named graphs to check on the device: the resnet32 training step at batch 128, built for CUDA. */
function trainingGraphsForDevice(): { name: string; bytes: Uint8Array }[] {
  return [{ name: 'resnet32-train-b128', bytes: buildTrainWorkload('resnet32', 128, 'cuda').graph.bytes }];
}

async function main(): Promise<void> {
  const { values: flags } = parseToolArgs(import.meta.url, { 'verbose-child': { type: 'string' } });
  const childModel = flags['verbose-child'];
  if (childModel) {
    // Child mode: create the session with verbose logging so onnxruntime prints its node placements to stderr.
    const { readFileSync } = await import('node:fs');
    await createBackend(readFileSync(childModel), { device: 'cuda', logSeverityLevel: 0 });
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'onnx-cil-placement-'));
  let failures = 0;
  for (const { name, bytes } of trainingGraphsForDevice()) {
    try {
      const b = await createBackend(bytes, { device: 'cuda', requireAllNodesOnDevice: true, logSeverityLevel: 3 });
      await b.session.release();
      console.log(`placement ${name}: all nodes on CUDAExecutionProvider`);
    } catch (err) {
      failures++;
      console.log(`placement ${name}: ${(err as Error).message.split('\n')[0]}`);
      const file = join(dir, `${name}.onnx`);
      writeFileSync(file, bytes);
      const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--verbose-child', file], { encoding: 'utf8' });
      const lines = child.stderr.split('\n').filter((l) => /placed on \[CPUExecutionProvider\]|^\s+\S+ \(\S+\)$|not assigned to the preferred/.test(l));
      for (const l of lines.slice(0, 40)) console.log(`  ${l.trim()}`);
    }
  }
  process.exitCode = failures ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
