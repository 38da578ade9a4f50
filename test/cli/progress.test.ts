/** Progress rendering: download bars with size, rate and ETA, and the plain lines written when no terminal is attached. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { createProgress, downloadProgress } from '../../src/cli/progress.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk) => (text += chunk));
  return { stream, text: () => text };
}

test('downloadProgress draws a bar with size, rate and ETA', () => {
  const { stream, text } = capture();
  const progress = downloadProgress({ stream, drawWithoutTerminal: true });
  progress.onProgress({ file: 'train.bin.gz', bytes: 0, total: 4_000_000, rate: 0, resumedFrom: 0, done: false });
  progress.onProgress({ file: 'train.bin.gz', bytes: 4_000_000, total: 4_000_000, rate: 2_000_000, resumedFrom: 0, done: true });
  progress.stop();
  assert.match(text(), /train\.bin\.gz \|.*\| 100% \| 4\.0\/4\.0 MB \| 2\.0 MB\/s \| ETA/);
});

test('downloadProgress shows bytes and rate only when the size is unknown, and one bar per file', () => {
  const { stream, text } = capture();
  const progress = downloadProgress({ stream, drawWithoutTerminal: true });
  progress.onProgress({ file: 'a.gz', bytes: 1_500_000, total: null, rate: 500_000, resumedFrom: 0, done: true });
  progress.onProgress({ file: 'b.gz', bytes: 1_000_000, total: 2_000_000, rate: 1_000_000, resumedFrom: 0, done: false });
  progress.stop();
  assert.match(text(), /a\.gz 1\.5 MB \| 0\.5 MB\/s/);
  assert.doesNotMatch(text(), /a\.gz[^\n]*ETA/);
  assert.match(text(), /b\.gz \|.*\| 50% \| 1\.0\/2\.0 MB \| 1\.0 MB\/s \| ETA/);
});

test('without a terminal, progress is a plain line with the fields filled in and no bar', () => {
  const { stream, text } = capture();
  const progress = downloadProgress({ stream });
  // A resumed download: the first event carries the bytes already on disk, the next one the first new chunk.
  progress.onProgress({ file: 'train.bin.gz', bytes: 1_000_000, total: 4_000_000, rate: 0, resumedFrom: 1_000_000, done: false });
  progress.onProgress({ file: 'train.bin.gz', bytes: 2_000_000, total: 4_000_000, rate: 250_000, resumedFrom: 1_000_000, done: false });
  // Later events within 30 s add no line.
  progress.onProgress({ file: 'train.bin.gz', bytes: 3_000_000, total: 4_000_000, rate: 250_000, resumedFrom: 1_000_000, done: false });
  progress.stop();
  assert.match(text(), /^ {2}train\.bin\.gz \| 50% \| 2\.0\/4\.0 MB \| 0\.3 MB\/s \| ETA \d+s\n$/);
});

test('a plain line before any work is counted says the ETA is unknown, not 0 s', () => {
  const { stream, text } = capture();
  const bar = createProgress('{value}/{total} | ETA {eta_formatted}', { stream });
  // Started lazily by the first step, which the display did not time.
  bar.start(195, {}, 1);
  bar.update(1);
  bar.stop();
  assert.equal(text(), '  1/195 | ETA –\n');
});

test('quiet progress writes nothing', () => {
  const { stream, text } = capture();
  const bar = createProgress('epoch {epoch} |{bar}| {value}/{total} | ETA {eta_formatted}', { stream, quiet: true });
  bar.start(10, { epoch: 1 });
  bar.update(5, { epoch: 1 });
  bar.stop();
  assert.equal(text(), '');
});
