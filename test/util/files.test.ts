/**
 * Output-file safety: atomic writes leave no temporary file after any failure, temporaries of killed processes are
 * swept, output folders are proven writable up front, and folder locks keep two writers apart.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs, { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mock, test, type TestContext } from 'node:test';
import { removeStaleTemporaryFiles, temporaryPathFor, writeFileAtomic } from '../../src/util/atomic-file.js';
import { LOCK_FILE, lockFolder } from '../../src/util/lock.js';
import { prepareOutputFolder, removeRunOutputs, runOutputsIn } from '../../src/util/output-folder.js';
import { processIsAlive } from '../../src/util/process.js';

function folder(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-cil-files-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The id of a process that has exited (so no process of this id runs, barring reuse in the last milliseconds). */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

test('writeFileAtomic replaces the file and leaves no temporary file', (t) => {
  const dir = folder(t);
  const path = join(dir, 'model.onnx');
  writeFileAtomic(path, 'old');
  writeFileAtomic(path, new Uint8Array([1, 2, 3]));
  assert.deepEqual([...readFileSync(path)], [1, 2, 3]);
  assert.deepEqual(readdirSync(dir), ['model.onnx']);
});

test('a full disk in the middle of a write keeps the old file and removes the partial temporary file', (t) => {
  const dir = folder(t);
  const path = join(dir, 'checkpoint.onnx');
  writeFileAtomic(path, 'old');
  const realWrite = fs.writeSync;
  let calls = 0;
  // The first call writes part of the data, the second fails as a full disk does.
  const m = mock.method(fs, 'writeSync', (fd: number, data: Uint8Array, offset: number, length: number) => {
    if (calls++ === 0) return realWrite(fd, data, offset, Math.min(length, 7));
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  });
  syncBuiltinESMExports();
  try {
    assert.throws(() => writeFileAtomic(path, new Uint8Array(1000)), { code: 'ENOSPC' });
  } finally {
    m.mock.restore();
    syncBuiltinESMExports();
  }
  assert.equal(calls, 2, 'the write was interrupted after a partial write');
  assert.equal(readFileSync(path, 'utf8'), 'old');
  assert.deepEqual(readdirSync(dir), ['checkpoint.onnx']);
});

test('a failed rename removes the temporary file', (t) => {
  const dir = folder(t);
  // Renaming a file over a non-empty folder fails (EISDIR / ENOTEMPTY).
  const target = join(dir, 'busy');
  mkdirSync(join(target, 'inside'), { recursive: true });
  assert.throws(() => writeFileAtomic(target, 'data'));
  assert.deepEqual(readdirSync(dir), ['busy']);
});

test('temporary files of dead processes are swept, those of live ones kept', (t) => {
  const dir = folder(t);
  const dead = deadPid();
  const files = [
    temporaryPathFor('checkpoint.onnx', dead),
    temporaryPathFor('phase-1.onnx', dead),
    temporaryPathFor('checkpoint.onnx'),
    temporaryPathFor('metrics.json', process.ppid),
    'notes.tmp-x',
  ];
  for (const f of files) writeFileSync(join(dir, f), 'x');
  assert.deepEqual(removeStaleTemporaryFiles(dir, 'model.onnx'), [], 'a target limits the sweep to its own temporaries');
  assert.deepEqual(removeStaleTemporaryFiles(dir, 'phase-1.onnx'), [temporaryPathFor('phase-1.onnx', dead)]);
  assert.deepEqual(removeStaleTemporaryFiles(dir), [temporaryPathFor('checkpoint.onnx', dead)]);
  assert.deepEqual(readdirSync(dir).sort(), [temporaryPathFor('checkpoint.onnx'), temporaryPathFor('metrics.json', process.ppid), 'notes.tmp-x'].sort());
});

test('prepareOutputFolder creates nested folders and fails at once where no folder can be made', (t) => {
  const dir = folder(t);
  prepareOutputFolder(join(dir, 'a', 'b', 'c'));
  assert.ok(existsSync(join(dir, 'a', 'b', 'c')));
  assert.deepEqual(readdirSync(join(dir, 'a', 'b', 'c')), [], 'the probe file is removed');
  writeFileSync(join(dir, 'file'), 'x');
  assert.throws(
    () => prepareOutputFolder(join(dir, 'file', 'run')),
    /^Error: cannot create the folder .*file[/\\]run: .*file is a file, not a folder; choose another --out$/,
  );
  if (existsSync('/proc/self')) {
    // Node's recursive mkdir loops forever here; one level at a time fails in milliseconds.
    const started = performance.now();
    assert.throws(
      () => prepareOutputFolder('/proc/onnx-cil-test/run'),
      /^Error: cannot create the folder \/proc\/onnx-cil-test\/run \(ENOENT at \/proc\/onnx-cil-test\); choose another --out$/,
    );
    assert.ok(performance.now() - started < 1000);
  }
});

test('runOutputsIn lists result files and removeRunOutputs removes only run files', (t) => {
  const dir = folder(t);
  assert.deepEqual(runOutputsIn(dir), []);
  const companion = 'checkpoint.onnx.velocity-0123456789abcdef.bin';
  for (const f of [
    'config.json',
    'checkpoint.onnx',
    companion,
    'phase-0.onnx',
    'metrics.json',
    'metrics.csv',
    'report.html',
    'notes.txt',
    'notes.onnx.velocity-0123456789abcdef.bin',
  ]) {
    writeFileSync(join(dir, f), 'x');
  }
  assert.deepEqual(runOutputsIn(dir), ['checkpoint.onnx', 'metrics.json', 'phase-0.onnx']);
  removeRunOutputs(dir);
  assert.deepEqual(readdirSync(dir).sort(), ['notes.onnx.velocity-0123456789abcdef.bin', 'notes.txt'], 'checkpoint companions are run files; other files stay');
});

test('a folder lock is exclusive, names its owner, and is released once', (t) => {
  const dir = folder(t);
  const lock = lockFolder(dir, 'run spb');
  const owner = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'));
  assert.equal(owner.pid, process.pid);
  assert.equal(owner.host, hostname());
  assert.throws(
    () => lockFolder(dir, 'run ft'),
    new RegExp(
      `^Error: ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by process ${process.pid} on .* \\(run spb, since .*\\); wait for it to finish or choose another --out`,
    ),
  );
  lock.release();
  lock.release();
  assert.ok(!existsSync(join(dir, LOCK_FILE)));
  lockFolder(dir, 'again').release();
});

test('stale locks (dead process, or this id left by an earlier process) are taken over; other hosts are respected', (t) => {
  const dir = folder(t);
  const path = join(dir, LOCK_FILE);
  const notes: string[] = [];
  for (const pid of [deadPid(), process.pid]) {
    writeFileSync(path, JSON.stringify({ pid, host: hostname(), purpose: 'run', since: '2020-01-01T00:00:00Z' }));
    const lock = lockFolder(dir, 'train', (m) => notes.push(m));
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).purpose, 'train');
    lock.release();
  }
  assert.equal(notes.length, 2);
  assert.match(notes[0]!, /removed a stale lock in .* \(process \d+ is gone\)/);
  writeFileSync(path, JSON.stringify({ pid: deadPid(), host: 'another-machine', purpose: 'run', since: '2020-01-01T00:00:00Z' }));
  assert.throws(() => lockFolder(dir, 'train'), /is in use by process \d+ on another-machine/);
});

/** A child script that locks `dir`, prints "locked", then fails or waits. */
function lockingScript(dir: string, then: 'wait' | 'throw'): string[] {
  const lockModule = new URL('../../src/util/lock.ts', import.meta.url).pathname;
  const script = `
    const { lockFolder } = await import(${JSON.stringify(lockModule)});
    lockFolder(${JSON.stringify(dir)}, 'child');
    console.log('locked');
    ${then === 'throw' ? "throw new Error('boom');" : 'setInterval(() => {}, 1000);'}`;
  return ['--import', 'tsx', '--input-type=module', '-e', script];
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`a lock is released when its process is stopped with ${signal}, and the signal still ends it`, async (t) => {
    const dir = folder(t);
    const child = spawn(process.execPath, lockingScript(dir, 'wait'), { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, sig) => resolve({ code, signal: sig })),
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => String(d).includes('locked') && resolve());
      void exited.then(() => reject(new Error('the child exited before locking')));
    });
    assert.throws(() => lockFolder(dir, 'parent'), new RegExp(`in use by process ${child.pid} `));
    child.kill(signal);
    assert.deepEqual(await exited, { code: null, signal });
    assert.ok(!existsSync(join(dir, LOCK_FILE)));
  });
}

test('a lock is released when its process fails with an uncaught error', (t) => {
  const dir = folder(t);
  const r = spawnSync(process.execPath, lockingScript(dir, 'throw'), { encoding: 'utf8' });
  assert.match(r.stdout, /locked/);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /boom/);
  assert.ok(!existsSync(join(dir, LOCK_FILE)));
});

test('a killed process that its parent has not reaped yet counts as gone', { skip: !existsSync('/proc/self/stat') && 'needs /proc' }, async () => {
  const child = spawn('sleep', ['30']);
  await new Promise((resolve) => child.once('spawn', resolve));
  assert.ok(processIsAlive(child.pid!));
  child.kill('SIGKILL');
  // Block the event loop so that Node cannot reap the child: it stays a zombie meanwhile.
  const until = Date.now() + 300;
  while (Date.now() < until);
  assert.equal(processIsAlive(child.pid!), false);
  assert.equal(processIsAlive(process.pid), true);
});
