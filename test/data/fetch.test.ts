import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { test, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { CIFAR100_RECORD_BYTES } from '../../src/data/cifar.js';
import { downloadFile, fetchDataset, type DownloadProgress } from '../../src/data/fetch.js';
import { locateDataset } from '../../src/data/locate.js';
import { getDatasetSpec, loadDataset, type DatasetSpec } from '../../src/data/registry.js';
import { makeTar, sharedDatasets, sharedFolder, temporaryFolder } from './helpers.js';

interface ServerBehaviour {
  /** Answer Range requests with the whole file (200), like servers without range support. */
  ignoreRange: boolean;
  /** Send only this many body bytes of the next response, then drop the connection. */
  cutAfter: number | null;
}

interface TestServer {
  base: string;
  files: Map<string, Buffer>;
  requests: { path: string; range: string | null }[];
  behaviour: ServerBehaviour;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A static file server on 127.0.0.1 with Range support; serves `files` first, then the shared datasets folder. */
async function startServer(t: TestContext): Promise<TestServer> {
  const state: TestServer = { base: '', files: new Map(), requests: [], behaviour: { ignoreRange: false, cutAfter: null } };
  const fromDisk = new Map<string, Buffer | null>();
  const lookup = (path: string): Buffer | null => {
    if (state.files.has(path)) return state.files.get(path)!;
    if (!fromDisk.has(path)) {
      const file = join(sharedDatasets, normalize(path));
      fromDisk.set(path, file.startsWith(sharedDatasets) && existsSync(file) && statSync(file).isFile() ? readFileSync(file) : null);
    }
    return fromDisk.get(path)!;
  };
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url!, 'http://localhost').pathname);
    const range = request.headers.range ?? null;
    state.requests.push({ path, range });
    const body = lookup(path);
    if (!body) {
      response.writeHead(404).end('not found');
      return;
    }
    let start = 0;
    const wanted = /^bytes=(\d+)-$/.exec(range ?? '');
    if (wanted && !state.behaviour.ignoreRange) {
      start = Number(wanted[1]);
      if (start >= body.length) {
        response.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
        return;
      }
      response.writeHead(206, { 'Content-Length': body.length - start, 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` });
    } else {
      response.writeHead(200, { 'Content-Length': body.length });
    }
    const rest = body.subarray(start);
    const cut = state.behaviour.cutAfter;
    if (cut !== null) {
      state.behaviour.cutAfter = null;
      response.write(rest.subarray(0, cut), () => setTimeout(() => response.socket?.destroy(), 20));
      return;
    }
    response.end(rest);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  state.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

test('fetches Fashion-MNIST from a mirror (ONNX_CIL_DATA_MIRROR) into the cache, verified, and skips it next time', async (t) => {
  if (!sharedFolder(t, 'fashion-mnist')) return;
  const server = await startServer(t);
  const home = temporaryFolder(t);
  const env = { ONNX_CIL_DATA_MIRROR: `${server.base}/`, XDG_CACHE_HOME: join(home, 'cache') };
  const finished: DownloadProgress[] = [];
  const result = await fetchDataset('fashion-mnist', { env, onProgress: (p) => p.done && finished.push(p) });
  assert.equal(result.dir, join(home, 'cache', 'onnx-cil', 'datasets', 'fashion-mnist'));
  assert.equal(result.source, `${server.base}/fashion-mnist`);
  assert.deepEqual(result.skipped, []);
  assert.deepEqual(readdirSync(result.dir).sort(), [...result.files].sort());
  assert.deepEqual(server.requests.map((r) => r.path).sort(), result.files.map((f) => `/fashion-mnist/${f}`).sort());
  assert.equal(finished.length, 4);
  for (const progress of finished) assert.equal(progress.bytes, progress.total);

  const test = loadDataset('fashion-mnist', 'test', { env });
  assert.equal(test.count, 10000);

  const again = await fetchDataset('fashion-mnist', { env });
  assert.deepEqual(again.skipped, result.files);
  assert.equal(server.requests.length, 4);
});

test('resumes a partial download of a real file with a Range request', async (t) => {
  const dir = sharedFolder(t, 'fashion-mnist');
  if (!dir) return;
  const server = await startServer(t);
  const target = join(temporaryFolder(t), 't10k-images-idx3-ubyte.gz');
  const original = readFileSync(join(dir, 't10k-images-idx3-ubyte.gz'));
  const half = Math.floor(original.length / 2);
  writeFileSync(`${target}.part`, original.subarray(0, half));
  const result = await downloadFile(`${server.base}/fashion-mnist/t10k-images-idx3-ubyte.gz`, target, {
    sha256: getDatasetSpec('fashion-mnist').mirrorFiles!.find((f) => f.name === 't10k-images-idx3-ubyte.gz')!.sha256,
  });
  assert.deepEqual(server.requests, [{ path: '/fashion-mnist/t10k-images-idx3-ubyte.gz', range: `bytes=${half}-` }]);
  assert.equal(result.resumedFrom, half);
  assert.equal(result.bytes, original.length);
  assert.ok(readFileSync(target).equals(original));
  assert.equal(existsSync(`${target}.part`), false);
});

test('an interrupted download keeps its .part and the next attempt resumes it', async (t) => {
  const server = await startServer(t);
  const content = randomBytes(200_000);
  server.files.set('/blob.bin', content);
  const target = join(temporaryFolder(t), 'blob.bin');
  server.behaviour.cutAfter = 50_000;
  await assert.rejects(
    downloadFile(`${server.base}/blob.bin`, target, { sha256: sha256(content) }),
    /blob\.bin .* was interrupted after \d+ bytes .*run the fetch again to resume/,
  );
  const partial = statSync(`${target}.part`).size;
  assert.ok(partial > 0 && partial <= 50_000, `partial size ${partial}`);
  const progress: DownloadProgress[] = [];
  const result = await downloadFile(`${server.base}/blob.bin`, target, { sha256: sha256(content), onProgress: (p) => progress.push(p) });
  assert.equal(result.resumedFrom, partial);
  assert.equal(server.requests[1]!.range, `bytes=${partial}-`);
  assert.ok(readFileSync(target).equals(content));
  assert.equal(progress[0]!.bytes, partial);
  assert.equal(progress.at(-1)!.done, true);
  assert.equal(progress.at(-1)!.bytes, content.length);
  assert.ok(progress.every((p, i) => i === 0 || p.bytes >= progress[i - 1]!.bytes));
});

test('a server that ignores Range restarts the download from zero', async (t) => {
  const server = await startServer(t);
  const content = randomBytes(30_000);
  server.files.set('/plain.bin', content);
  server.behaviour.ignoreRange = true;
  const target = join(temporaryFolder(t), 'plain.bin');
  writeFileSync(`${target}.part`, Buffer.alloc(1000, 1));
  const result = await downloadFile(`${server.base}/plain.bin`, target, { sha256: sha256(content) });
  assert.equal(result.resumedFrom, 0);
  assert.ok(readFileSync(target).equals(content));
});

test('a complete .part answered with 416 is verified and moved into place', async (t) => {
  const server = await startServer(t);
  const content = randomBytes(5000);
  server.files.set('/done.bin', content);
  const target = join(temporaryFolder(t), 'done.bin');
  writeFileSync(`${target}.part`, content);
  await downloadFile(`${server.base}/done.bin`, target, { sha256: sha256(content) });
  assert.ok(readFileSync(target).equals(content));
  assert.equal(server.requests[0]!.range, 'bytes=5000-');
});

test('a sha256 mismatch deletes the download with a clear error; HTTP errors are reported', async (t) => {
  const server = await startServer(t);
  server.files.set('/corrupt.bin', randomBytes(10_000));
  const dir = temporaryFolder(t);
  const target = join(dir, 'corrupt.bin');
  await assert.rejects(
    downloadFile(`${server.base}/corrupt.bin`, target, { sha256: '0'.repeat(64) }),
    /corrupt\.bin .* is corrupt: sha256 [0-9a-f]{64} does not match the expected 0{64}\. The download was deleted/,
  );
  assert.deepEqual(readdirSync(dir), []);
  await assert.rejects(downloadFile(`${server.base}/absent.bin`, join(dir, 'absent.bin')), /absent\.bin .* failed: HTTP 404/);
  const spec: DatasetSpec = { ...getDatasetSpec('fashion-mnist'), mirrorFiles: [{ name: 'corrupt.bin', sha256: '1'.repeat(64) }] };
  server.files.set('/fashion-mnist/corrupt.bin', randomBytes(100));
  await assert.rejects(fetchDataset(spec, { dir, mirror: server.base, env: {} }), /does not match the expected 1{64}/);
  assert.deepEqual(readdirSync(dir), []);
  await assert.rejects(fetchDataset('fashion-mnist-mini', { env: {} }), /ships with onnx-cil/);
});

test('unpacks an official-style CIFAR-100 tar.gz and verifies the extracted files', async (t) => {
  const server = await startServer(t);
  const records = (labels: number[]) =>
    Buffer.concat(labels.map((fine) => Buffer.concat([Buffer.of(fine % 20, fine), randomBytes(CIFAR100_RECORD_BYTES - 2)])));
  const train = records([0, 1, 2, 99]);
  const testRecords = records([5, 6]);
  const names = Buffer.from(`${getDatasetSpec('cifar-100').classNames.join('\n')}\n`);
  const archive = gzipSync(
    makeTar([
      { name: 'cifar-100-binary/', data: Buffer.alloc(0), directory: true },
      { name: 'cifar-100-binary/fine_label_names.txt', data: names },
      { name: 'cifar-100-binary/coarse_label_names.txt', data: Buffer.from('aquatic_mammals\n') },
      { name: 'cifar-100-binary/train.bin', data: train },
      { name: 'cifar-100-binary/test.bin', data: testRecords },
    ]),
  );
  server.files.set('/kriz/cifar-100-binary.tar.gz', archive);
  const official = getDatasetSpec('cifar-100').download!;
  assert.equal(official.kind, 'tar.gz');
  if (official.kind !== 'tar.gz') return;
  const specWith = (trainSha: string): DatasetSpec => ({
    ...getDatasetSpec('cifar-100'),
    download: {
      ...official,
      url: `${server.base}/kriz/cifar-100-binary.tar.gz`,
      members: official.members.map((m) =>
        m.file === 'train.bin' ? { ...m, sha256: trainSha } : m.file === 'test.bin' ? { ...m, sha256: sha256(testRecords) } : m,
      ),
    },
  });

  const dir = temporaryFolder(t);
  const spec = specWith(sha256(train));
  const result = await fetchDataset(spec, { dir, env: {} });
  assert.deepEqual(result.files, ['train.bin', 'test.bin', 'fine_label_names.txt']);
  assert.deepEqual(readdirSync(dir).sort(), ['fine_label_names.txt', 'test.bin', 'train.bin']);
  const loaded = spec.read(locateDataset(spec, 'train', { dataPath: dir, env: {} }), 'train');
  assert.deepEqual(Array.from(loaded.labels), [0, 1, 2, 99]);
  assert.equal(loaded.classNames[2], 'baby');
  assert.deepEqual((await fetchDataset(spec, { dir, env: {} })).skipped, result.files);
  assert.equal(server.requests.length, 1);

  const badDir = temporaryFolder(t);
  await assert.rejects(
    fetchDataset(specWith('2'.repeat(64)), { dir: badDir, env: {} }),
    /cifar-100-binary\/train\.bin in cifar-100-binary\.tar\.gz is corrupt/,
  );
  assert.equal(existsSync(join(badDir, 'cifar-100-binary.tar.gz')), false);
  assert.equal(existsSync(join(badDir, 'train.bin')), false);
});
