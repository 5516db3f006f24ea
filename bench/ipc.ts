/**
 * npm run bench:ipc: the per-request round-trip cost of the ways the HTTP process can talk to an
 * inference host, measured in this one run. The host side only echoes (no ONNX Runtime): a
 * request carries a Float32Array and a shape, the answer carries 10 floats taken from it, so the
 * figures are the IPC alone. Candidates:
 * - worker_threads postMessage with the input's ArrayBuffer transferred (the engine before v2);
 * - child_process.fork, serialization 'json' (tensors as number arrays);
 * - child_process.fork, serialization 'advanced' (structured clone of the typed array);
 * - a child speaking length-prefixed binary frames (small JSON header, raw tensor bytes) over an
 *   extra stdio pipe (fd 3, a socketpair on Linux) and over a Unix socket.
 * Concurrency 16 is pipelined over one channel (16 requests in flight, matched by id).
 * Rounds alternate the mechanisms so drift of the shared machine hits all of them alike; each
 * cell reports the round with the median throughput. Called by run.ts; `node dist/bench/ipc.js`
 * runs it alone.
 */
import { ChildProcess, fork, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker, parentPort, workerData } from 'node:worker_threads';
import { percentile } from './load';

const CELL_MS = Number(process.env.BENCH_IPC_CELL_MS ?? 1000);
const ROUNDS = Number(process.env.BENCH_IPC_ROUNDS ?? 3);
const ECHO_FLAG = '--ipc-echo';
const THREAD_ROLE = 'ipc-echo-thread';
const OUTPUT_SIZE = 10;

interface Payload {
  label: string;
  shape: number[];
}

const PAYLOADS: Payload[] = [
  { label: 'small (64 floats in, 10 out)', shape: [1, 64] },
  { label: 'CNN 1x3x48x192 (110 KB in, 10 floats out)', shape: [1, 3, 48, 192] },
];

const MECHANISMS = ['threads', 'fork-json', 'fork-advanced', 'frames-fd3', 'frames-unix'] as const;
type Mechanism = (typeof MECHANISMS)[number];

const DESCRIPTION: Record<Mechanism, string> = {
  threads: 'worker_threads postMessage + transfer (today)',
  'fork-json': "fork, serialization 'json'",
  'fork-advanced': "fork, serialization 'advanced'",
  'frames-fd3': 'binary frames, stdio pipe fd 3',
  'frames-unix': 'binary frames, Unix socket',
};

/** The echo every host runs: the first 10 input values. */
function echo(data: Float32Array): Float32Array {
  return data.slice(0, OUTPUT_SIZE);
}

// ---------------------------------------------------------------------------------------------
// Binary frames: u32 LE header length, u32 LE body length, JSON header (space-padded to a
// multiple of 8 so the body stays aligned), raw body bytes.

interface FrameHeader {
  id: number;
  shape: number[];
}

const PREFIX = 8;
/** Bodies up to this size are copied into the header buffer: one write instead of two. */
const INLINE_BODY = 4096;

function writeFrame(socket: net.Socket, header: FrameHeader, body: Float32Array): void {
  const json = JSON.stringify(header);
  const headerLength = Math.ceil(Buffer.byteLength(json) / 8) * 8;
  const inline = body.byteLength <= INLINE_BODY;
  const head = Buffer.allocUnsafe(PREFIX + headerLength + (inline ? body.byteLength : 0));
  head.writeUInt32LE(headerLength, 0);
  head.writeUInt32LE(body.byteLength, 4);
  const written = head.write(json, PREFIX);
  head.fill(0x20, PREFIX + written, PREFIX + headerLength);
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (inline) {
    bytes.copy(head, PREFIX + headerLength);
    socket.write(head);
    return;
  }
  socket.cork();
  socket.write(head);
  socket.write(bytes);
  socket.uncork();
}

/** Reassembles frames from socket chunks; bodies come out as aligned Float32Arrays. */
class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly onFrame: (header: FrameHeader, body: Float32Array) => void) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= PREFIX) {
      if (this.chunks[0].length < PREFIX) this.chunks = [Buffer.concat(this.chunks)];
      const headerLength = this.chunks[0].readUInt32LE(0);
      const bodyLength = this.chunks[0].readUInt32LE(4);
      const total = PREFIX + headerLength + bodyLength;
      if (this.buffered < total) return;
      const frame = this.take(total);
      const header = JSON.parse(frame.toString('utf8', PREFIX, PREFIX + headerLength)) as FrameHeader;
      const offset = frame.byteOffset + PREFIX + headerLength;
      const body =
        offset % 4 === 0
          ? new Float32Array(frame.buffer, offset, bodyLength / 4)
          : new Float32Array(Uint8Array.prototype.slice.call(frame, PREFIX + headerLength).buffer);
      this.onFrame(header, body);
    }
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    this.buffered -= n;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafeSlow(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0];
      const k = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, k);
      filled += k;
      if (k === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(k);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Host side (runs in the worker thread or child process).

function serveFrames(socket: net.Socket): void {
  const reader = new FrameReader((header, body) =>
    writeFrame(socket, { id: header.id, shape: [1, OUTPUT_SIZE] }, echo(body)),
  );
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  socket.on('close', () => process.exit(0));
}

function runHost(mode: string, socketPath?: string): void {
  if (mode === 'json') {
    process.on('message', (m: { id: number; data: number[] }) =>
      process.send?.({ id: m.id, out: Array.from(echo(Float32Array.from(m.data))) }),
    );
    process.on('disconnect', () => process.exit(0));
  } else if (mode === 'advanced') {
    process.on('message', (m: { id: number; data: Float32Array }) => process.send?.({ id: m.id, out: echo(m.data) }));
    process.on('disconnect', () => process.exit(0));
  } else if (mode === 'fd3') {
    serveFrames(new net.Socket({ fd: 3, readable: true, writable: true }));
  } else if (mode === 'unix' && socketPath) {
    const socket = net.connect(socketPath);
    socket.setNoDelay(true);
    serveFrames(socket);
  } else {
    throw new Error(`unknown echo mode ${mode}`);
  }
}

function runThreadHost(): void {
  parentPort?.on('message', (m: { id: number; data: Float32Array }) => {
    const out = echo(m.data);
    parentPort?.postMessage({ id: m.id, out }, [out.buffer as ArrayBuffer]);
  });
}

// ---------------------------------------------------------------------------------------------
// Main side.

interface Channel {
  send(id: number, data: Float32Array, shape: number[]): void;
  close(): Promise<void>;
}

type OnReply = (id: number, out: Float32Array) => void;

function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

async function openThreads(onReply: OnReply): Promise<Channel> {
  const worker = new Worker(__filename, { workerData: { role: THREAD_ROLE } });
  worker.on('message', (m: { id: number; out: Float32Array }) => onReply(m.id, m.out));
  await new Promise((resolve) => worker.once('online', resolve));
  return {
    send: (id, data, shape) => worker.postMessage({ id, shape, data }, [data.buffer as ArrayBuffer]),
    close: async () => void (await worker.terminate()),
  };
}

async function openFork(serialization: 'json' | 'advanced', onReply: OnReply): Promise<Channel> {
  const child = fork(__filename, [ECHO_FLAG, serialization], {
    serialization,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.on('message', (m: { id: number; out: number[] | Float32Array }) =>
    onReply(m.id, m.out instanceof Float32Array ? m.out : Float32Array.from(m.out)),
  );
  await new Promise((resolve) => child.once('spawn', resolve));
  const json = serialization === 'json';
  return {
    send: (id, data, shape) => child.send({ id, shape, data: json ? Array.from(data) : data }),
    close: async () => {
      const exited = exitOf(child);
      child.disconnect();
      await exited;
    },
  };
}

function frameChannel(
  socket: net.Socket,
  child: ChildProcess,
  onReply: OnReply,
  cleanUp: () => void = () => undefined,
): Channel {
  const reader = new FrameReader((header, body) => onReply(header.id, body));
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  return {
    send: (id, data, shape) => writeFrame(socket, { id, shape }, data),
    close: async () => {
      const exited = exitOf(child);
      socket.end();
      await exited;
      cleanUp();
    },
  };
}

async function openFramesFd3(onReply: OnReply): Promise<Channel> {
  const child = spawn(process.execPath, [__filename, ECHO_FLAG, 'fd3'], {
    stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
  });
  await new Promise((resolve) => child.once('spawn', resolve));
  return frameChannel(child.stdio[3] as net.Socket, child, onReply);
}

async function openFramesUnix(onReply: OnReply): Promise<Channel> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-ipc-'));
  const socketPath = path.join(dir, 'host.sock');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const connected = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const child = spawn(process.execPath, [__filename, ECHO_FLAG, 'unix', socketPath], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const socket = await connected;
  socket.setNoDelay(true);
  server.close();
  return frameChannel(socket, child, onReply, () => fs.rmSync(dir, { recursive: true, force: true }));
}

function open(mechanism: Mechanism, onReply: OnReply): Promise<Channel> {
  switch (mechanism) {
    case 'threads':
      return openThreads(onReply);
    case 'fork-json':
      return openFork('json', onReply);
    case 'fork-advanced':
      return openFork('advanced', onReply);
    case 'frames-fd3':
      return openFramesFd3(onReply);
    case 'frames-unix':
      return openFramesUnix(onReply);
  }
}

interface Cell {
  count: number;
  msgsPerSecond: number;
  p50Us: number;
  p99Us: number;
}

/** One mechanism, opened once and measured cell after cell. */
class Subject {
  private readonly pending = new Map<number, (out: Float32Array) => void>();
  private nextId = 1;
  private channel?: Channel;

  constructor(readonly mechanism: Mechanism) {}

  async open(): Promise<void> {
    this.channel = await open(this.mechanism, (id, out) => {
      const done = this.pending.get(id);
      if (!done) throw new Error(`${this.mechanism}: reply to unknown request ${id}`);
      this.pending.delete(id);
      done(out);
    });
  }

  close(): Promise<void> {
    return this.channel?.close() ?? Promise.resolve();
  }

  private roundTrip(data: Float32Array, shape: number[]): Promise<Float32Array> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.channel?.send(id, data, shape);
    });
  }

  /** Closed loop: `concurrency` requests in flight; each input is a fresh buffer (transfer detaches it). */
  async measure(template: Float32Array, shape: number[], concurrency: number, durationMs: number): Promise<Cell> {
    const latencies: number[] = [];
    const loop = async (until: number, record: boolean) => {
      while (performance.now() < until) {
        const data = template.slice();
        const t0 = performance.now();
        const out = await this.roundTrip(data, shape);
        if (record) latencies.push((performance.now() - t0) * 1000);
        if (out.length !== OUTPUT_SIZE || out[0] !== template[0] || out[9] !== template[9])
          throw new Error(`${this.mechanism}: wrong echo`);
      }
    };
    const warm = performance.now() + Math.min(200, durationMs / 4);
    await Promise.all(Array.from({ length: concurrency }, () => loop(warm, false)));
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, () => loop(started + durationMs, true)));
    const elapsed = performance.now() - started;
    latencies.sort((a, b) => a - b);
    return {
      count: latencies.length,
      msgsPerSecond: (latencies.length / elapsed) * 1000,
      p50Us: percentile(latencies, 0.5),
      p99Us: percentile(latencies, 0.99),
    };
  }
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;

/** Markdown lines: a heading, a note and the table. */
export async function benchIpc(): Promise<string[]> {
  const subjects = MECHANISMS.map((m) => new Subject(m));
  const results = new Map<string, Cell[]>();
  const key = (m: Mechanism, p: number, c: number) => `${m}/${p}/${c}`;
  try {
    for (const subject of subjects) await subject.open();
    for (let round = 0; round < ROUNDS; round++) {
      for (const [p, payload] of PAYLOADS.entries()) {
        const size = payload.shape.reduce((a, b) => a * b, 1);
        const template = Float32Array.from({ length: size }, (_, i) => Math.sin(i));
        for (const concurrency of [1, 16]) {
          // Rotate the order each round: no mechanism always runs first or right after another.
          for (let s = 0; s < subjects.length; s++) {
            const subject = subjects[(s + round) % subjects.length];
            const cell = await subject.measure(template, payload.shape, concurrency, CELL_MS);
            const k = key(subject.mechanism, p, concurrency);
            results.set(k, [...(results.get(k) ?? []), cell]);
          }
        }
      }
    }
  } finally {
    for (const subject of subjects) await subject.close();
  }
  const median = (cells: Cell[]) =>
    [...cells].sort((a, b) => a.msgsPerSecond - b.msgsPerSecond)[Math.floor(cells.length / 2)];
  const lines = [
    '## IPC round trip between the HTTP process and an inference host (echo only, no ONNX Runtime)',
    '',
    `Each cell: ${CELL_MS} ms of closed-loop round trips after a warm-up, the median-throughput round of ` +
      `${ROUNDS} (mechanisms rotated each round). Concurrency 16 = 16 requests in flight on one channel. ` +
      'Latency includes the promise that resolves on the reply; the input buffer is allocated before the ' +
      'timer starts (a fresh one per request, as a decoded tensor is).',
    '',
    row(['message', 'mechanism', 'conc.', 'p50 µs', 'p99 µs', 'msgs/s', 'msgs/s vs threads']),
    row(['---', '---', '---:', '---:', '---:', '---:', '---:']),
  ];
  for (const [p, payload] of PAYLOADS.entries()) {
    for (const concurrency of [1, 16]) {
      const baseline = median(results.get(key('threads', p, concurrency)) ?? []);
      for (const mechanism of MECHANISMS) {
        const cell = median(results.get(key(mechanism, p, concurrency)) ?? []);
        lines.push(
          row([
            payload.label,
            DESCRIPTION[mechanism],
            concurrency,
            fmt(cell.p50Us),
            fmt(cell.p99Us),
            fmt(cell.msgsPerSecond),
            mechanism === 'threads'
              ? '1.00x'
              : `${fmt(cell.msgsPerSecond / baseline.msgsPerSecond, 2)}x (${fmt(cell.msgsPerSecond)} vs ${fmt(baseline.msgsPerSecond)})`,
          ]),
        );
      }
    }
  }
  return lines;
}

if ((workerData as { role?: string } | null)?.role === THREAD_ROLE) {
  runThreadHost();
} else if (process.argv[2] === ECHO_FLAG) {
  runHost(process.argv[3], process.argv[4]);
} else if (require.main === module) {
  console.log(
    `# IPC benchmark (${os.cpus()[0]?.model ?? 'cpu'}, ${os.availableParallelism()} cores, Node ${process.version})\n`,
  );
  benchIpc()
    .then((lines) => console.log(lines.join('\n')))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
