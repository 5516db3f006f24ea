import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { waitFor } from './wait-for';

/** s3rver's built-in account: what AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY must say for it. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
export const TEST_S3_REGION = 'us-east-1';

/** A private s3rver (a local S3-compatible server from npm) in a child process, on a free port. */
export interface TestS3 {
  endpoint: string;
  port: number;
  /** A client of it, for tests that look at or damage objects behind the app's back. */
  client: S3Client;
  /** Creates a bucket with a fresh name and answers it. */
  createBucket(): Promise<string>;
  /** Every object key of a bucket. */
  keys(bucket: string): Promise<string[]>;
  get(bucket: string, key: string): Promise<Buffer>;
  put(bucket: string, key: string, bytes: Buffer): Promise<void>;
  /** The app's environment for the s3 store on `bucket` (through `endpoint`, default this server). */
  env(bucket: string, endpoint?: string): Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts s3rver 3.7.1 with `node --openssl-legacy-provider` (without it, a paged ListObjectsV2
 * answers 500 on Node 20; see REFERENCE.md) on a free port with a temporary folder, and sets
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in this process to its account: the app reads
 * credentials through the AWS SDK's default chain, as in production.
 */
export async function startS3Server(): Promise<TestS3> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-s3rver-'));
  const bin = require.resolve('s3rver/bin/s3rver.js');
  const child: ChildProcess = spawn(
    process.execPath,
    ['--openssl-legacy-provider', bin, '-d', directory, '-a', '127.0.0.1', '-p', '0', '--silent', '--no-vhost-buckets'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let port: number;
  try {
    port = await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`s3rver exited: ${output}`);
        const match = /listening on [^:]+:(\d+)/.exec(output);
        return match ? Number(match[1]) : undefined;
      },
      { what: 's3rver to listen', intervalMs: 20 },
    );
  } catch (error) {
    child.kill('SIGKILL');
    fs.rmSync(directory, { recursive: true, force: true });
    throw error;
  }
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: TEST_S3_REGION,
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
  });
  return {
    endpoint,
    port,
    client,
    async createBucket() {
      const bucket = `test-${randomUUID().slice(0, 8)}`;
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      return bucket;
    },
    async keys(bucket) {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (listed.Contents ?? []).map((object) => object.Key ?? '').sort();
    },
    async get(bucket, key) {
      const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(
        await (response.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
      );
    },
    async put(bucket, key, bytes) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
    },
    env(bucket, at = endpoint) {
      return {
        ARTIFACT_STORE: 's3',
        S3_ENDPOINT: at,
        S3_REGION: TEST_S3_REGION,
        S3_BUCKET: bucket,
        S3_FORCE_PATH_STYLE: 'true',
      };
    },
    async stop() {
      client.destroy();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

/**
 * A TCP proxy in front of a server, to fail it on demand: `cutAfter(n)` lets `n` more bytes
 * through towards the server, then closes every connection and refuses new ones until `heal()`.
 * A store talking through it sees the server vanish in the middle of a request.
 */
export interface CuttingProxy {
  endpoint: string;
  cutAfter(bytes: number): void;
  /** True once the cut has happened. */
  readonly cut: boolean;
  heal(): void;
  close(): Promise<void>;
}

export async function startCuttingProxy(targetPort: number): Promise<CuttingProxy> {
  const sockets = new Set<net.Socket>();
  let allowance = Number.POSITIVE_INFINITY;
  let cut = false;
  const cutNow = (): void => {
    cut = true;
    for (const socket of sockets) socket.destroy();
  };
  const server = net.createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('data', (chunk: Buffer) => {
      if (cut) return;
      if (chunk.length > allowance) {
        upstream.write(chunk.subarray(0, allowance));
        allowance = 0;
        cutNow();
        return;
      }
      allowance -= chunk.length;
      upstream.write(chunk);
    });
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    cutAfter(bytes) {
      allowance = bytes;
      if (bytes <= 0) cutNow();
    },
    get cut() {
      return cut;
    },
    heal() {
      cut = false;
      allowance = Number.POSITIVE_INFINITY;
    },
    async close() {
      cutNow();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
