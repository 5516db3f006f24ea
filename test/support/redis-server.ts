import { ChildProcess, spawn } from 'node:child_process';
import * as net from 'node:net';
import Redis from 'ioredis';
import { freePort } from './service-process';
import { waitFor } from './wait-for';

/** The shared Redis of the test environment (CI may point REDIS_TEST_URL elsewhere). */
export function redisTestUrl(): string {
  return process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379';
}

/** Removes every key under `prefix:` from the test Redis (what a spec's replicas left there). */
export async function dropRedisKeys(prefix: string, url = redisTestUrl()): Promise<void> {
  const redis = new Redis(url);
  try {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

/** True when a Redis answers PING on host:port within the timeout. */
export function redisPing(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    let answer = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('error', () => done(false));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
    socket.once('connect', () => socket.write('PING\r\n'));
  });
}

/** A throwaway redis-server owned by one test: no persistence, so a restart starts empty. */
export interface PrivateRedis {
  port: number;
  url: string;
  /** Whether the process is currently running. */
  readonly running: boolean;
  /** Kills the process (SIGKILL by default: an outage, not a shutdown) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and waits until it answers PING. */
  restart(): Promise<void>;
  /** Stops the process (SIGSTOP): connections stay open, nothing is answered until resume(). */
  pause(): void;
  /** Continues a paused process (SIGCONT): it answers what it was sent meanwhile. */
  resume(): void;
}

async function launch(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited: ${stderr}`);
        return redisPing(port);
      },
      { what: `redis-server on port ${port} to answer PING`, intervalMs: 20 },
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message} ${stderr}`, { cause: error });
  }
  return child;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined = await launch(port);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      const current = child;
      child = undefined;
      if (!current || current.exitCode !== null || current.signalCode !== null) return;
      const exited = new Promise((resolve) => current.once('exit', resolve));
      current.kill(signal);
      await exited;
    },
    async restart() {
      if (child) throw new Error('redis-server is still running');
      child = await launch(port);
    },
    pause() {
      if (!child?.kill('SIGSTOP')) throw new Error('redis-server is not running');
    },
    resume() {
      if (!child?.kill('SIGCONT')) throw new Error('redis-server is not running');
    },
  };
}
