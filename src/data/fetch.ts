/**
 * Downloading datasets into the cache: resumable (HTTP Range on `*.part` files), verified by
 * sha256, moved into place by an atomic rename only once complete and verified. Progress goes to
 * an `onProgress` callback (bytes, total, rate); drawing it is the caller's business.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createGunzip } from 'node:zlib';
import { datasetCacheDir, type Environment } from './locate.js';
import { getDatasetSpec, type DatasetSpec, type DownloadFile } from './registry.js';
import { extractTar } from './tar.js';

export const MIRROR_ENV_VARIABLE = 'ONNX_CIL_DATA_MIRROR';

/** One progress event of a download; the last one of a file has `done` set. */
export interface DownloadProgress {
  /** File name being downloaded. */
  file: string;
  /** Bytes on disk so far, including bytes resumed from an earlier attempt. */
  bytes: number;
  /** Full size when the server says, else null. */
  total: number | null;
  /** Bytes per second received in this attempt. */
  rate: number;
  /** Bytes that were already on disk when this attempt started. */
  resumedFrom: number;
  done: boolean;
}

/** Receives every progress event of a download, at least one per received chunk. */
export type ProgressCallback = (progress: DownloadProgress) => void;

export interface DownloadOptions {
  /** Expected sha256 (hex); a mismatch deletes the download and throws. */
  sha256?: string;
  onProgress?: ProgressCallback;
  /** Name shown in progress and errors; defaults to the destination's base name. */
  label?: string;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  resumedFrom: number;
}

/**
 * sha256 (hex) of a file, streamed.
 *
 * @example
 * await sha256File('train.bin.gz'); // 'd821d972...'
 */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function fileSize(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}

/** The "start-end/total" of a Content-Range header. */
function parseContentRange(header: string | null): { start: number; total: number | null } | null {
  const match = header?.match(/^bytes (\d+)-\d+\/(\d+|\*)$/);
  if (!match) return null;
  return { start: Number(match[1]), total: match[2] === '*' ? null : Number(match[2]) };
}

/**
 * Downloads `url` to `destination`: writes `destination.part`, resumes an existing `.part` with an HTTP
 * Range request, checks the sha256 when given and renames the part into place. An interrupted download
 * leaves the `.part` for the next attempt; a corrupt one (sha256 mismatch) is deleted.
 *
 * @example
 * await downloadFile('http://mirror/fashion-mnist/t10k-labels-idx1-ubyte.gz', '/cache/t10k-labels-idx1-ubyte.gz', {
 *   sha256: '8d3605d1...', onProgress: (p) => console.error(p.bytes, p.total),
 * });
 */
export async function downloadFile(url: string, destination: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const label = options.label ?? destination.split(/[\\/]/).pop()!;
  const partPath = `${destination}.part`;
  let resumedFrom = (await fileSize(partPath)) ?? 0;

  let response = await request(url, resumedFrom, label);
  if (response.status === 416 && resumedFrom > 0) {
    // The server has nothing past our part: it is either complete or longer than the file.
    await response.body?.cancel();
    const digest = await sha256File(partPath);
    if (!options.sha256 || digest === options.sha256) {
      await rename(partPath, destination);
      options.onProgress?.({ file: label, bytes: resumedFrom, total: resumedFrom, rate: 0, resumedFrom, done: true });
      return { path: destination, bytes: resumedFrom, sha256: digest, resumedFrom };
    }
    await rm(partPath, { force: true });
    resumedFrom = 0;
    response = await request(url, 0, label);
  }

  let total: number | null;
  if (response.status === 206) {
    const range = parseContentRange(response.headers.get('content-range'));
    if (!range || range.start !== resumedFrom) {
      await response.body?.cancel();
      throw new Error(
        `download of ${label} from ${url}: the server answered the resume request with an unexpected range (${response.headers.get('content-range')})`,
      );
    }
    total = range.total;
  } else if (response.status === 200) {
    resumedFrom = 0; // the server ignored the Range header: start over
    const length = response.headers.get('content-length');
    total = length === null ? null : Number(length);
  } else {
    await response.body?.cancel();
    throw new Error(`download of ${label} from ${url} failed: HTTP ${response.status} ${response.statusText}`);
  }
  if (!response.body) throw new Error(`download of ${label} from ${url}: the response has no body`);

  let bytes = resumedFrom;
  const started = performance.now();
  const report = (done: boolean) => {
    const seconds = (performance.now() - started) / 1000;
    options.onProgress?.({ file: label, bytes, total, rate: seconds > 0 ? (bytes - resumedFrom) / seconds : 0, resumedFrom, done });
  };
  report(false);
  try {
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          bytes += chunk.length;
          report(false);
          yield chunk;
        }
      },
      createWriteStream(partPath, { flags: resumedFrom > 0 ? 'a' : 'w' }),
    );
  } catch (error) {
    throw new Error(
      `download of ${label} from ${url} was interrupted after ${bytes} bytes (${(error as Error).message}); ` +
        `run the fetch again to resume from ${partPath}`,
      { cause: error },
    );
  }
  if (total !== null && bytes !== total) {
    throw new Error(`download of ${label} from ${url} ended at ${bytes} of ${total} bytes; run the fetch again to resume`);
  }

  const digest = await sha256File(partPath);
  if (options.sha256 && digest !== options.sha256) {
    await rm(partPath, { force: true });
    throw new Error(
      `download of ${label} from ${url} is corrupt: sha256 ${digest} does not match the expected ${options.sha256}. ` +
        `The download was deleted; run the fetch again, or get the file another way and pass --data PATH`,
    );
  }
  await rename(partPath, destination);
  report(true);
  return { path: destination, bytes, sha256: digest, resumedFrom };
}

async function request(url: string, from: number, label: string): Promise<Response> {
  try {
    return await fetch(url, { headers: from > 0 ? { Range: `bytes=${from}-` } : {}, redirect: 'follow' });
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause;
    throw new Error(`download of ${label} from ${url} failed: ${cause?.message ?? (error as Error).message}`, { cause: error });
  }
}

/** True when `path` exists and, if a digest is given, has it. */
async function alreadyPresent(path: string, sha256?: string): Promise<boolean> {
  if ((await fileSize(path)) === null) return false;
  return !sha256 || (await sha256File(path)) === sha256;
}

export interface FetchDatasetOptions {
  /** Target folder; default the cache folder that loadDataset searches. */
  dir?: string;
  /**
   * Base URL of a mirror laid out like the shared datasets folder (`<mirror>/<folderName>/<file>`);
   * default $ONNX_CIL_DATA_MIRROR, else the official download.
   */
  mirror?: string;
  env?: Environment;
  onProgress?: ProgressCallback;
}

export interface FetchDatasetResult {
  dir: string;
  /** Files now in `dir`. */
  files: string[];
  /** Files that were already present and verified. */
  skipped: string[];
  /** Where they came from (the official URL or the mirror). */
  source: string;
}

function joinUrl(base: string, ...parts: string[]): string {
  return [base.replace(/\/+$/, ''), ...parts.map(encodeURIComponent)].join('/');
}

async function fetchFileList(
  baseUrl: string,
  files: readonly DownloadFile[],
  dir: string,
  onProgress: ProgressCallback | undefined,
): Promise<{ files: string[]; skipped: string[] }> {
  const skipped: string[] = [];
  for (const file of files) {
    const destination = join(dir, file.name);
    if (await alreadyPresent(destination, file.sha256)) {
      skipped.push(file.name);
      continue;
    }
    await rm(destination, { force: true });
    await downloadFile(joinUrl(baseUrl, file.name), destination, { sha256: file.sha256, onProgress, label: file.name });
  }
  return { files: files.map((file) => file.name), skipped };
}

async function fetchTarArchive(
  source: Extract<NonNullable<DatasetSpec['download']>, { kind: 'tar.gz' }>,
  dir: string,
  onProgress: ProgressCallback | undefined,
): Promise<{ files: string[]; skipped: string[] }> {
  const files = source.members.map((member) => member.file);
  const present = await Promise.all(source.members.map((member) => alreadyPresent(join(dir, member.file), member.sha256)));
  if (present.every(Boolean)) return { files, skipped: files };

  const archive = join(dir, source.archiveName);
  if ((await fileSize(archive)) === null) {
    await downloadFile(source.url, archive, { onProgress, label: source.archiveName });
  }
  const byPath = new Map(source.members.map((member) => [member.path, member]));
  const extracted = new Set<string>();
  try {
    await extractTar(createReadStream(archive).pipe(createGunzip()), (entry) => {
      const member = byPath.get(entry.name.replace(/^\.\//, ''));
      if (!member) return null;
      extracted.add(member.path);
      return join(dir, `${member.file}.part`);
    });
  } catch (error) {
    await rm(archive, { force: true });
    throw new Error(`${source.archiveName} from ${source.url} could not be unpacked (${(error as Error).message}); it was deleted, run the fetch again`, {
      cause: error,
    });
  }
  const missing = source.members.filter((member) => !extracted.has(member.path)).map((member) => member.path);
  if (missing.length) {
    throw new Error(`${source.archiveName} from ${source.url} lacks ${missing.join(', ')}; the archive layout changed or it is not the right file`);
  }
  for (const member of source.members) {
    const part = join(dir, `${member.file}.part`);
    if (member.sha256) {
      const digest = await sha256File(part);
      if (digest !== member.sha256) {
        await rm(archive, { force: true });
        await rm(part, { force: true });
        throw new Error(
          `${member.path} in ${source.archiveName} is corrupt: sha256 ${digest} does not match the expected ${member.sha256}. ` +
            `The download was deleted; run the fetch again, or get the files another way and pass --data PATH`,
        );
      }
    }
    await rename(part, join(dir, member.file));
  }
  await rm(archive, { force: true });
  return { files, skipped: [] };
}

/**
 * Downloads a registered dataset (or any spec) into the cache folder that loadDataset searches,
 * skipping files already present with the right sha256.
 *
 * @example
 * await fetchDataset('fashion-mnist', {
 *   onProgress: (p) => console.error(`${p.file}: ${p.bytes} of ${p.total ?? '?'} bytes at ${p.rate.toFixed(0)} B/s`),
 * });
 */
export async function fetchDataset(dataset: string | DatasetSpec, options: FetchDatasetOptions = {}): Promise<FetchDatasetResult> {
  const spec = typeof dataset === 'string' ? getDatasetSpec(dataset) : dataset;
  const env = options.env ?? process.env;
  if (spec.embeddedFolder) {
    throw new Error(`dataset "${spec.name}" ships with onnx-cil (${spec.embeddedFolder}/); there is nothing to fetch`);
  }
  const dir = options.dir ?? datasetCacheDir(spec.name, env);
  await mkdir(dir, { recursive: true });
  const mirror = options.mirror ?? env[MIRROR_ENV_VARIABLE];
  if (mirror) {
    if (!spec.mirrorFiles) throw new Error(`dataset "${spec.name}" has no mirror file list`);
    const base = joinUrl(mirror, spec.folderName);
    return { dir, ...(await fetchFileList(base, spec.mirrorFiles, dir, options.onProgress)), source: base };
  }
  const download = spec.download;
  if (!download) throw new Error(`dataset "${spec.name}" has no download source`);
  if (download.kind === 'files') {
    return { dir, ...(await fetchFileList(download.baseUrl, download.files, dir, options.onProgress)), source: download.baseUrl };
  }
  return { dir, ...(await fetchTarArchive(download, dir, options.onProgress)), source: download.url };
}
