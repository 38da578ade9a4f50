/**
 * A minimal streaming tar reader: enough for the official CIFAR-100 archive (ustar / GNU tar,
 * regular files, optional pax or GNU long-name records). Not a general archiver.
 */
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';

const BLOCK = 512;

export interface TarEntry {
  name: string;
  size: number;
  /** Tar type flag: '0' regular file, '5' directory, ... */
  type: string;
}

function readString(header: Uint8Array, start: number, length: number): string {
  const field = header.subarray(start, start + length);
  const end = field.indexOf(0);
  return Buffer.from(end === -1 ? field : field.subarray(0, end)).toString('utf8');
}

/** Size fields are octal text, or base-256 big-endian when the top bit of the first byte is set (GNU, >8 GiB). */
function readSize(header: Uint8Array, offset: number): number {
  // Headers are whole 512-byte blocks (ByteReader.read returns exactly what is asked).
  if (header[124]! & 0x80) {
    let value = header[124]! & 0x7f;
    for (let i = 125; i < 136; i++) value = value * 256 + header[i]!;
    return value;
  }
  const text = readString(header, 124, 12).trim();
  if (!/^[0-7]*$/.test(text)) throw new Error(`corrupt tar header at byte ${offset}: size field "${text}" is not octal`);
  return text ? parseInt(text, 8) : 0;
}

function checksumMatches(header: Uint8Array): boolean {
  const recorded = parseInt(readString(header, 148, 8).trim(), 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  return recorded === sum;
}

/** Reads `path=` from pax extended-header records ("<len> key=value\n"). */
function paxPath(records: Buffer): string | undefined {
  let position = 0;
  while (position < records.length) {
    const space = records.indexOf(0x20, position);
    if (space === -1) break;
    const length = parseInt(records.subarray(position, space).toString('utf8'), 10);
    if (!(length > 0)) break;
    const record = records.subarray(space + 1, position + length - 1).toString('utf8');
    if (record.startsWith('path=')) return record.slice(5);
    position += length;
  }
  return undefined;
}

/** Collects bytes from an async byte stream and hands them out in exact-size pieces. */
class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly iterator: AsyncIterator<Uint8Array>;
  position = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Buffers at least n bytes; false when the stream ends first. */
  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n) {
      const { done, value } = await this.iterator.next();
      if (done) return false;
      const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    return true;
  }

  /** Exactly n bytes, or null when the stream ends before n bytes. */
  async read(n: number): Promise<Buffer | null> {
    if (!(await this.fill(n))) return null;
    const joined = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const result = joined.subarray(0, n);
    const rest = joined.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    this.position += n;
    return result;
  }

  /** Passes the next n bytes to `sink` in stream-sized pieces, without joining them. */
  async pipe(n: number, sink: (piece: Buffer) => Promise<void>): Promise<boolean> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.fill(1))) return false;
      // Something is buffered here, so there is a first chunk.
      const chunk = this.chunks[0]!;
      const piece = chunk.length <= left ? chunk : chunk.subarray(0, left);
      if (piece === chunk) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(left);
      this.buffered -= piece.length;
      this.position += piece.length;
      left -= piece.length;
      await sink(piece);
    }
    return true;
  }
}

async function writePiece(stream: WriteStream, piece: Buffer): Promise<void> {
  if (!stream.write(piece)) await once(stream, 'drain');
}

/**
 * Reads a tar stream and writes each entry for which `destinationFor` returns a path to that path.
 * Returns every entry seen. Throws on corrupt headers and on archives that end mid-entry.
 *
 * @example
 * const gunzipped = createReadStream('cifar-100-binary.tar.gz').pipe(createGunzip());
 * await extractTar(gunzipped, (entry) => (entry.name === 'cifar-100-binary/test.bin' ? '/tmp/test.bin' : null));
 */
export async function extractTar(source: AsyncIterable<Uint8Array>, destinationFor: (entry: TarEntry) => string | null): Promise<TarEntry[]> {
  const reader = new ByteReader(source);
  const entries: TarEntry[] = [];
  let overrideName: string | undefined;
  for (;;) {
    const headerOffset = reader.position;
    const header = await reader.read(BLOCK);
    if (!header) {
      if (entries.length === 0) throw new Error('not a tar archive: empty stream');
      break; // some writers omit the two closing zero blocks
    }
    if (header.every((b) => b === 0)) break;
    if (!checksumMatches(header)) throw new Error(`corrupt tar header at byte ${headerOffset} (checksum mismatch); not a tar archive or damaged`);
    const size = readSize(header, headerOffset);
    const type = String.fromCharCode(header[156] || 0x30);
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    const truncated = () => new Error(`truncated tar archive: entry at byte ${headerOffset} needs ${size} bytes of data`);

    if (type === 'L' || type === 'x') {
      const body = await reader.read(size + padding);
      if (!body) throw truncated();
      const content = body.subarray(0, size);
      overrideName = type === 'L' ? readString(content, 0, content.length) : (paxPath(content) ?? overrideName);
      continue;
    }

    const isUstar = readString(header, 257, 6).startsWith('ustar');
    const prefix = isUstar ? readString(header, 345, 155) : '';
    const shortName = readString(header, 0, 100);
    const name = overrideName ?? (prefix ? `${prefix}/${shortName}` : shortName);
    overrideName = undefined;
    const entry: TarEntry = { name, size, type };
    entries.push(entry);

    const destination = type === '0' ? destinationFor(entry) : null;
    if (destination) {
      const output = createWriteStream(destination);
      try {
        const complete = await reader.pipe(size, (piece) => writePiece(output, piece));
        if (!complete) throw truncated();
      } finally {
        output.end();
        await finished(output);
      }
      if ((await reader.read(padding)) === null) throw truncated();
    } else if (!(await reader.pipe(size + padding, async () => {}))) {
      throw truncated();
    }
  }
  return entries;
}
