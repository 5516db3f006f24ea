import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StoredInstance } from './instance-codec';

/** Encoded instances kept in memory up to this size; past it they go to a staging file. */
const MEMORY_LIMIT_BYTES = 16 * 1024 * 1024;
const RECORD_HEAD = 8;

/**
 * Holds validated, encoded instances until the whole submission is known to be valid, so an
 * upload of any size is neither buffered whole nor stored before its last instance is checked.
 * On disk each instance is a record: header length and data length (uint32 LE), header, data.
 */
export class InstanceSpool {
  private readonly memory: StoredInstance[] = [];
  private memoryBytes = 0;
  private file?: { path: string; stream: fs.WriteStream };
  count = 0;

  constructor(
    private readonly stagingDir: string,
    /** Bytes kept in memory before the spool moves to a file (tests spill sooner). */
    private readonly memoryLimitBytes = MEMORY_LIMIT_BYTES,
  ) {}

  async append(instance: StoredInstance): Promise<void> {
    this.count++;
    const size = instance.header.length + instance.data.byteLength;
    if (!this.file && this.memoryBytes + size <= this.memoryLimitBytes) {
      this.memory.push(instance);
      this.memoryBytes += size;
      return;
    }
    const file = this.file ?? (await this.spill());
    if (!file.stream.write(record(instance))) {
      await new Promise<void>((resolve) => file.stream.once('drain', () => resolve()));
    }
  }

  /** Every instance, in order. */
  async *instances(): AsyncIterable<StoredInstance> {
    if (!this.file) {
      yield* this.memory;
      return;
    }
    const { stream, path: filePath } = this.file;
    await new Promise<void>((resolve, reject) =>
      stream.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
    const handle = await fs.promises.open(filePath, 'r');
    try {
      const head = Buffer.alloc(RECORD_HEAD);
      for (let position = 0; ;) {
        const { bytesRead } = await handle.read(head, 0, RECORD_HEAD, position);
        if (bytesRead === 0) return;
        const headerBytes = head.readUInt32LE(0);
        const dataBytes = head.readUInt32LE(4);
        const body = Buffer.alloc(headerBytes + dataBytes);
        await handle.read(body, 0, body.byteLength, position + RECORD_HEAD);
        position += RECORD_HEAD + body.byteLength;
        yield { header: body.toString('utf8', 0, headerBytes), data: body.subarray(headerBytes) };
      }
    } finally {
      await handle.close();
    }
  }

  async dispose(): Promise<void> {
    if (!this.file) return;
    const { stream, path: filePath } = this.file;
    this.file = undefined;
    // The stream opens its file asynchronously: removing the path before that open would let it
    // create the file afterwards. destroy() closes once the open is done; remove after 'close'.
    if (!stream.closed) {
      const closed = once(stream, 'close');
      stream.destroy();
      await closed;
    }
    await fs.promises.rm(filePath, { force: true });
  }

  private async spill(): Promise<{ path: string; stream: fs.WriteStream }> {
    await fs.promises.mkdir(this.stagingDir, { recursive: true });
    const filePath = path.join(this.stagingDir, `${randomUUID()}.spool`);
    const stream = fs.createWriteStream(filePath, { flags: 'wx', mode: 0o600 });
    this.file = { path: filePath, stream };
    for (const instance of this.memory) stream.write(record(instance));
    this.memory.length = 0;
    this.memoryBytes = 0;
    return this.file;
  }
}

function record(instance: StoredInstance): Buffer {
  const header = Buffer.from(instance.header, 'utf8');
  const head = Buffer.alloc(RECORD_HEAD);
  head.writeUInt32LE(header.byteLength, 0);
  head.writeUInt32LE(instance.data.byteLength, 4);
  return Buffer.concat([head, header, instance.data]);
}
