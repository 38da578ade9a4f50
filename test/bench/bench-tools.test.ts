/** The tools' own arithmetic: FLOP counting, regression comparison and its wording, flag parsing, statistics, in-graph rotations. No timings here. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraphBuilder } from '../../src/graph/builder.js';
import { encodeModel } from '../../src/graph/onnx-proto.js';
import { conv, gemm, matmul } from '../../src/graph/ops/index.js';
import { buildBackbone, getModelSpec } from '../../src/nn/models.js';
import { InputParams } from '../../src/nn/params.js';
import { createBackend } from '../../src/runtime/backend.js';
import { compareResults, describeChange, direction, parseBenchArgs, sideBySide } from '../../tools/bench/bench.js';
import { countMacs } from '../../tools/bench/flops.js';
import { integerArg, listArg, numberArg } from '../../tools/lib/args.js';
import { median, quantile, summarize } from '../../tools/lib/timing.js';
import { fourRotations } from '../../src/nn/rotations.js';

test('MACs of Conv, Gemm and MatMul come from their shapes', () => {
  const g = new GraphBuilder('macs');
  const x = g.input('x', 'float32', [1, 3, 8, 8]);
  const w = g.input('w', 'float32', [4, 3, 3, 3]);
  const c = conv(x, w, null, { pads: [1, 1, 1, 1] });
  const gm = gemm(g.input('a', 'float32', [2, 5]), g.input('b', 'float32', [3, 5]), null, { transB: 1 });
  const mm = matmul(g.input('p', 'float32', [2, 4, 5]), g.input('q', 'float32', [5, 6]));
  const { total, byOp } = countMacs(g.nodes, [c, gm, mm]);
  assert.deepEqual(byOp, { Conv: 4 * 8 * 8 * 27, Gemm: 2 * 3 * 5, MatMul: 2 * 4 * 6 * 5 });
  assert.equal(total, 6912 + 30 + 240);
});

test('resnet32 on 32x32 counts the textbook ~69M forward MACs per image', () => {
  const g = new GraphBuilder('r32');
  const { features } = buildBackbone(getModelSpec('resnet32'), new InputParams(g, 'train'), g.input('x', 'float32', [2, 3, 32, 32]));
  const macs = countMacs(g.nodes, [features]).total / 2;
  assert.ok(macs > 68e6 && macs < 70e6, `${macs}`);
});

test('compare flags only headline metrics worse than the tolerance', () => {
  const prev = {
    train: { resnet32: { imagesPerSecond: 100, msPerStep: 1000, p90Ms: 10 } },
    graphBuild: { resnet32: { seconds: 1 } },
    peer: { torch: { x: { imagesPerSecond: 9 } } },
  };
  const cur = {
    train: { resnet32: { imagesPerSecond: 85, msPerStep: 1050, p90Ms: 99 } },
    graphBuild: { resnet32: { seconds: 0.5 } },
    peer: { torch: { x: { imagesPerSecond: 1 } } },
  };
  const { rows, regressions } = compareResults(prev, cur, 0.1);
  assert.deepEqual(
    regressions.map((r) => r.metric),
    ['train.resnet32.imagesPerSecond'],
  );
  assert.deepEqual(rows.map((r) => r.metric).sort(), ['graphBuild.resnet32.seconds', 'train.resnet32.imagesPerSecond', 'train.resnet32.msPerStep']);
  assert.equal(direction('infer.resnet32.node.batch1LatencyMs'), -1);
  assert.equal(direction('matmulGflops'), 1);
  assert.equal(direction('ratios.train.resnet32.imagesPerSecond'), 0);
});

test('compare prints changes as plain ratios of the larger to the smaller value', () => {
  const change = (metric: string, previous: number, current: number) =>
    describeChange(compareResults({ m: { [metric]: previous } }, { m: { [metric]: current } }, 0.1).rows[0]!);
  assert.equal(change('imagesPerSecond', 90, 10), '9.0x slower');
  assert.equal(change('msPerStep', 100, 900), '9.0x slower');
  assert.equal(change('imagesPerSecond', 100, 112), '12% faster');
  assert.equal(change('msPerStep', 100, 108), '8% slower');
  assert.equal(change('batch1LatencyMs', 2, 1), '2.0x faster');
  assert.equal(change('imagesPerSecond', 1000, 1003), '0.3% faster');
  assert.equal(change('imagesPerSecond', 100, 100), 'same');
  assert.equal(describeChange({ metric: 'train.resnet32.peakRssMB', previous: 100, current: 125, worse: 0.25 }), '25% larger');
});

test('the side-by-side table shows ratios to PyTorch and to the MatMul ceiling, and dashes where one side is missing', () => {
  const out = {
    train: { resnet32: { imagesPerSecond: 300, gflops: 40, peakRssMB: 800 } },
    infer: { resnet32: { node: { batch64ImagesPerSecond: 2000 } } },
    matmulGflops: 100,
    peer: { torch: { train: { resnet32: { imagesPerSecond: 100, peakRssMB: 1000 } }, infer: { resnet32: { batch64ImagesPerSecond: 500 } } } },
  };
  const rows = sideBySide(out);
  assert.deepEqual(
    rows.map((r) => r[3]),
    ['3.00x', '-', '4.00x', '0.80x', '0.40x'],
  );
  assert.deepEqual(rows[0]!.slice(1), ['300.0', '100.0', '3.00x']);
  assert.ok(rows.every((r) => !/goal|target/i.test(r.join(' '))));
});

test('bench flags parse with node:util parseArgs and keep their meaning', () => {
  const a = parseBenchArgs([
    '--quick',
    '--threads',
    '0',
    '--only',
    'train.resnet32,infer',
    '--only',
    'matmul',
    '--no-peer',
    '--tolerance',
    '0.05',
    '--extra',
    '{"enableMemPattern":false}',
  ]);
  assert.equal(a.quick, true);
  assert.equal(a.threads, 1);
  assert.deepEqual(a.only, ['train.resnet32', 'infer', 'matmul']);
  assert.equal(a.peer, false);
  assert.equal(a.tolerance, 0.05);
  assert.deepEqual(a.extra, { enableMemPattern: false });
  assert.equal(parseBenchArgs([]).threads, 2);
  assert.throws(() => parseBenchArgs(['--thread', '2']), /Unknown option '--thread'/);
  assert.throws(() => parseBenchArgs(['--reps', 'many']), /--reps needs an integer/);
});

test('checked flag values: integers with a minimum, numbers, comma lists', () => {
  assert.equal(integerArg(undefined, '--reps', 20, 1), 20);
  assert.equal(integerArg('3', '--reps', 20, 1), 3);
  assert.throws(() => integerArg('0', '--reps', 20, 1), /--reps needs an integer >= 1, got 0/);
  assert.throws(() => integerArg('2.5', '--reps', 20), /integer/);
  assert.equal(numberArg('0.25', '--tolerance', 0.1), 0.25);
  assert.throws(() => numberArg('x', '--tolerance', 0.1), /--tolerance needs a number/);
  assert.deepEqual(listArg(['a,b', '', 'c,']), ['a', 'b', 'c']);
});

test('quantiles interpolate between order statistics', () => {
  assert.equal(quantile([4, 1, 3, 2], 0.5), 2.5);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([5, 1, 3]), 3);
  assert.deepEqual(summarize([10, 30, 20]), { medianMs: 20, p10Ms: 12, p90Ms: 28, minMs: 10, reps: 3 });
});

test('fourRotations stacks the 0/90/180/270-degree counter-clockwise rotations (torch.rot90 k = 0..3)', async () => {
  const g = new GraphBuilder('rot');
  g.output(fourRotations(g.input('x', 'float32', [1, 1, 3, 3])), 'y');
  const { ort, session } = await createBackend(encodeModel(g.toModel()), { threads: 1 });
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), [1, 1, 3, 3]) });
  await session.release();
  assert.deepEqual(out['y']!.dims, [4, 1, 3, 3]);
  assert.deepEqual(Array.from(out['y']!.data as Float32Array), [
    ...[1, 2, 3, 4, 5, 6, 7, 8, 9],
    ...[3, 6, 9, 2, 5, 8, 1, 4, 7],
    ...[9, 8, 7, 6, 5, 4, 3, 2, 1],
    ...[7, 4, 1, 8, 5, 2, 9, 6, 3],
  ]);
});
