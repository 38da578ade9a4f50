/**
 * The command line's answers to bad input, as a user sees them: one line `onnx-cil: error: ...` and exit status 1,
 * before any heavy work; a second run into a busy folder is refused and an interrupted run releases its folder;
 * every flag has a description.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import yargs from 'yargs';
import { COMMANDS } from '../../src/cli/cli.js';
import { defaultRunFolder } from '../../src/cli/commands/run.js';
import { LOSS_LEGEND, plainLine, rateField } from '../../src/cli/progress.js';
import { exportModel, META_KEYS } from '../../src/export/index.js';
import { decodeModel, encodeModel } from '../../src/graph/onnx-proto.js';
import { LOCK_FILE } from '../../src/util/lock.js';
import { makeCheckpoint } from '../export/helpers.js';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'onnx-cil-cli-errors-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Outcome {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `onStderr` sees stderr as it grows and may return the child to act on it. */
function cli(args: string[], onStderr?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...process.env, ONNX_CIL_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      onStderr?.(stderr, child);
    });
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Help text of a command, produced in this process. */
async function helpOf(argv: string[]): Promise<string> {
  let y = yargs().scriptName('onnx-cil').exitProcess(false).help();
  for (const c of COMMANDS) y = y.command(c);
  return new Promise((resolve) => {
    void y.parse([...argv, '--help'], {}, (_err, _argv, output) => resolve(output));
  });
}

describe('flags', () => {
  // doctor takes no model-running flags worth validating here; its options are checked by its own tests.
  const commands = [['train'], ['run'], ['increment'], ['export'], ['predict'], ['eval'], ['inspect'], ['data', 'fetch']];
  for (const argv of commands) {
    it(`every option of ${argv.join(' ')} has a description and no empty default`, async () => {
      const help = await helpOf(argv);
      assert.match(help, /Options:/);
      const bare = help.split('\n').filter((l) => /^\s+(-\w, )?--?[\w-]+\s+\[/.test(l) || /^\s{2}\w+\s+\[/.test(l));
      assert.deepEqual(bare, [], `options without a description:\n${bare.join('\n')}`);
      assert.doesNotMatch(help, /\[default: \[\]\]/);
    });
  }

  it('the default run folder carries the epochs scale when it is not 1', () => {
    assert.equal(defaultRunFolder('fmnist-mini-b5-p5', 'spb', 1), 'runs/fmnist-mini-b5-p5-spb-s1');
    assert.equal(defaultRunFolder('fmnist-mini-b5-p5', 'spb', 1, 1), 'runs/fmnist-mini-b5-p5-spb-s1');
    assert.equal(defaultRunFolder('fmnist-b5-p5', 'spb-m', 2, 0.25), 'runs/fmnist-b5-p5-spb-m-s2-x0.25');
  });

  it('plain progress lines follow the bar format, with the rate in img/s', () => {
    const line = plainLine('phase {phase} epoch {epoch} |{bar}| {value}/{total} | loss {loss} | {rate} | ETA {eta_formatted}', 3, 40, '12s', {
      phase: '1/5',
      epoch: '2/6',
      loss: '0.5000 (ce 0.4000, em 0.0100)',
      rate: rateField(811.6),
    });
    assert.equal(line, 'phase 1/5 epoch 2/6 | 3/40 | loss 0.5000 (ce 0.4000, em 0.0100) | 812 img/s | ETA 12s');
    for (const term of ['ce ', 'mp ', 'em ', 'in ', 'img/s']) assert.ok(LOSS_LEGEND.includes(term), term);
  });
});

describe('one-line errors', () => {
  const names = ['T-shirt', 'Trouser', 'Pullover', 'Dress'];
  const { bytes } = makeCheckpoint({ model: 'convnet', classNames: names, inputShape: [1, 8, 8], mean: [0.5], std: [0.25], seed: 2 });
  const checkpoint = join(dir, 'checkpoint.onnx');
  writeFileSync(checkpoint, bytes);
  // A checkpoint whose classifier diverged (one NaN weight), as training with too high a rate leaves it.
  const nanModel = decodeModel(bytes);
  const fc = nanModel.graph.initializer.find((t) => t.name === 'fc.weight')!;
  const raw = new Uint8Array(fc.raw_data!);
  new DataView(raw.buffer).setFloat32(0, Number.NaN, true);
  fc.raw_data = raw;
  const nanCheckpoint = join(dir, 'diverged.onnx');
  writeFileSync(nanCheckpoint, encodeModel(nanModel));
  // An exported model whose class list was edited to be one longer than its output.
  const shifted = decodeModel(
    exportModel(makeCheckpoint({ model: 'convnet', classNames: names, inputShape: [1, 8, 8], mean: [0.5], std: [0.25] }).checkpoint).bytes,
  );
  shifted.metadata_props!.find((p) => p.key === META_KEYS.classNames)!.value = JSON.stringify([...names, 'Coat']);
  const shiftedModel = join(dir, 'shifted.onnx');
  writeFileSync(shiftedModel, encodeModel(shifted));
  const existing = join(dir, 'existing.onnx');
  writeFileSync(existing, 'an earlier export');
  const cores = availableParallelism();

  it('answers each bad input with one line and exit status 1', async () => {
    const image = join(dir, 'shoe.png');
    await sharp(Buffer.alloc(64, 128), { raw: { width: 8, height: 8, channels: 1 } })
      .png()
      .toFile(image);
    const cases: [string[], string][] = [
      [['run', '--seed', '1.5', '--out', join(dir, 'r1')], '--seed must be an integer, got 1.5'],
      [['run', '--epochs-scale', '0', '--out', join(dir, 'r2')], '--epochs-scale must be a number > 0, got 0'],
      [['run', '--workers', '-1', '--out', join(dir, 'r3')], '--workers must be an integer >= 0, got -1'],
      [['run', '--nope'], 'Unknown argument: nope (see --help)'],
      [['predict', '--model', checkpoint, image, '--top-k', '0'], '--top-k must be a positive integer, got 0'],
      [['eval', '--model', checkpoint, '--dataset', 'fashion-mnist-mini', '--batch-size', '-5'], '--batch-size must be a positive integer, got -5'],
      [
        ['export', '--from', nanCheckpoint, '--out', join(dir, 'nan-model.onnx')],
        `${nanCheckpoint}: tensor fc.weight holds NaN values (its training diverged or the file is damaged); use an earlier checkpoint, or train again with a lower learning rate`,
      ],
      [['export', '--from', checkpoint, '--out', existing], `${existing} already exists; pass --force to replace it, or choose another --out`],
      [['export', '--from', checkpoint, '--out', join(dir, 'm1.onnx'), '--method-config', '[1]'], '--method-config must be a JSON object'],
      [['run', '--method-config', '{"priorStrength":', '--out', join(dir, 'r4')], '--method-config is not valid JSON: Unexpected end of JSON input'],
      [
        ['export', '--from', checkpoint, '--out', join(dir, 'm2.onnx'), '--method-config', '{"priorStrength":1}'],
        'the checkpoint records no learning method, so there are no method settings to export with',
      ],
      [
        ['predict', '--model', shiftedModel, image],
        `${shiftedModel} is inconsistent: its metadata names 5 classes but its classifier has 4 outputs (the file was edited or damaged); export it again from its checkpoint (onnx-cil export)`,
      ],
    ];
    if (existsSync('/proc/self')) {
      // Node's recursive mkdir spins forever under /proc; the folder check fails at once.
      cases.push([
        ['run', '--out', '/proc/onnx-cil-test', '--threads', '1'],
        'cannot create the folder /proc/onnx-cil-test (ENOENT at /proc/onnx-cil-test); choose another --out',
      ]);
    }
    const results = await Promise.all(cases.map(([args]) => cli(args)));
    for (const [i, r] of results.entries()) {
      assert.equal(r.stderr, `onnx-cil: error: ${cases[i]![1]}\n`, cases[i]![0].join(' '));
      assert.equal(r.status, 1);
    }
    assert.ok(!existsSync(join(dir, 'nan-model.onnx')));
    assert.deepEqual(
      readdirSync(dir).filter((f) => /\.tmp-\d+$/.test(f)),
      [],
    );
  });

  it('names the file that is not an ONNX model, whichever command reads it', async () => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'hello\n');
    const [inspected, predicted, exported] = await Promise.all([
      cli(['inspect', text]),
      cli(['predict', '--model', text, text]),
      cli(['export', '--from', text, '--out', join(dir, 'from-text.onnx')]),
    ]);
    const file = escapeRegExp(text);
    assert.match(
      inspected.stderr,
      new RegExp(`^onnx-cil: error: ${file} cannot be read: not a valid ONNX model: [^\n]+ \\(is it a complete \\.onnx file\\?\\)\n$`),
    );
    assert.match(
      predicted.stderr,
      new RegExp(
        `^onnx-cil: error: ${file} cannot be read: not a valid ONNX model: [^\n]+ \\(is it an exported \\.onnx model, complete and undamaged\\?\\)\n$`,
      ),
    );
    assert.match(
      exported.stderr,
      new RegExp(`^onnx-cil: error: ${file} is corrupt or truncated \\(not a valid ONNX model: [^\n]+\\); restore it, or use another checkpoint\n$`),
    );
    for (const r of [inspected, predicted, exported]) assert.equal(r.status, 1);
  });

  it('caps threads at the cores with a notice, exports over an existing file only with --force, and inspect warns', async () => {
    const [capped, forced, inspected] = await Promise.all([
      cli(['eval', '--model', join(dir, 'missing.onnx'), '--dataset', 'fashion-mnist-mini', '--threads', String(cores + 997)]),
      cli(['export', '--from', checkpoint, '--out', existing, '--force']),
      cli(['inspect', shiftedModel]),
    ]);
    assert.equal(
      capped.stderr,
      `--threads ${cores + 997} is more than the ${cores} cores of this machine; using ${cores}\nonnx-cil: error: cannot read model ${join(dir, 'missing.onnx')}: ENOENT\n`,
    );
    assert.equal(forced.status, 0, forced.stderr);
    assert.match(forced.stderr, /^exported .* -> .*existing\.onnx/);
    assert.equal(inspected.status, 0);
    assert.match(
      inspected.stdout,
      /\nwarning: metadata names 5 classes but the classifier has 4 outputs: labels would be shifted \(onnx-cil refuses to load it\)\n/,
    );
  });
});

describe('a busy run folder', () => {
  it('refuses a second run while the first holds it, and an interrupted run releases it without temporary files', async () => {
    const out = join(dir, 'busy');
    let second = null as Promise<Outcome> | null;
    let firstPid = 0;
    const first = await cli(['run', '--out', out, '--threads', '1', '--workers', '0', '--epochs-scale', '0.5'], (text, child) => {
      firstPid = child.pid!;
      // Once the first run trains (its legend and first progress line are out), start the second and then stop the first.
      if (second || !/\| \d+ img\/s \| ETA/.test(text)) return;
      second = cli(['run', '--out', out, '--threads', '1']).then((r) => {
        child.kill('SIGINT');
        return r;
      });
    });
    assert.ok(second, `the first run never trained:\n${first.stderr}`);
    const refused = await second;
    assert.match(
      refused.stderr,
      new RegExp(
        `^onnx-cil: error: ${escapeRegExp(out)} is in use by process ${firstPid} on .* \\(run gauss, since [^)]+\\); wait for it to finish or choose another --out \\(if that process is gone, delete .*\\)\n$`,
      ),
    );
    assert.equal(refused.status, 1);
    assert.equal(first.signal, 'SIGINT', first.stderr);
    assert.equal(first.stderr.split(`${LOSS_LEGEND}\n`).length, 2, 'the legend comes once');
    assert.match(first.stderr, /phase 0\/5 epoch 1\/\d+ \| \d+\/\d+ \| loss [\d.]+ \(ce [\d.]+\) \| \d+ img\/s \| ETA (\d+s|–)/);
    assert.deepEqual(
      readdirSync(out).filter((f) => f === LOCK_FILE || /\.tmp-\d+$/.test(f)),
      [],
    );
  });
});
