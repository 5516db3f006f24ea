/**
 * A controllable stand-in for "a job that takes a while": the JobHooks seam (src/jobs/job-hooks.ts)
 * driven through a directory, so one gate works in the test process (startTestApp({ jobGate }))
 * and in spawned service processes (spawnService(env, { jobGate }), which preloads
 * job-gate-preload.js).
 *
 * The test adds rules before the work starts: `hold({ chunk: 2, attempt: 1 })` stops every attempt
 * that reaches that chunk boundary until `release()`; `failAt(...)` makes the attempt fail there.
 * Each time a hook runs it appends an event to `events.ndjson`; the test waits for the event it
 * needs (`held(...)`) instead of guessing how long the job takes.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pause, waitFor, WaitOptions } from './wait-for';

/** The environment variable that points spawned processes at the gate directory. */
export const JOB_GATE_ENV = 'MODELFORGE_TEST_JOB_GATE';

export interface ChunkMatch {
  jobId?: string;
  chunk?: number;
  attempt?: number;
}

interface Rule extends ChunkMatch {
  action: 'hold' | 'fail';
}

/** One thing a gated process did: reached a chunk boundary, or began to stop its job runner. */
export interface GateEvent {
  event: 'chunk' | 'stop';
  pid: number;
  /** Date.now() in the process that wrote it. */
  at: number;
  jobId?: string;
  chunk?: number;
  attempt?: number;
  /** What the hook did at the boundary. */
  action?: 'pass' | 'hold' | 'fail';
}

const EVENTS = 'events.ndjson';
const releaseFile = (jobId: string, chunk: number, attempt: number) => `release-${jobId}.${chunk}.${attempt}`;

function matches(match: ChunkMatch, jobId: string, chunk: number, attempt: number): boolean {
  return (
    (match.jobId === undefined || match.jobId === jobId) &&
    (match.chunk === undefined || match.chunk === chunk) &&
    (match.attempt === undefined || match.attempt === attempt)
  );
}

function rules(dir: string): Rule[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((name) => name.startsWith('rule-'));
  } catch {
    return []; // the gate was removed: everything passes
  }
  return names.sort().flatMap((name) => {
    try {
      return [JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as Rule];
    } catch {
      return []; // removed meanwhile
    }
  });
}

function note(dir: string, event: GateEvent): void {
  try {
    fs.appendFileSync(path.join(dir, EVENTS), `${JSON.stringify(event)}\n`);
  } catch {
    // the gate was removed: nobody is listening
  }
}

/** The JobHooks.beforeChunk a gated process runs (in the app's process, not the test's). */
export function gateHook(dir: string): (jobId: string, chunk: number, attempt: number) => Promise<void> {
  return async (jobId, chunk, attempt) => {
    const rule = rules(dir).find((r) => matches(r, jobId, chunk, attempt));
    note(dir, {
      event: 'chunk',
      pid: process.pid,
      at: Date.now(),
      jobId,
      chunk,
      attempt,
      action: rule?.action ?? 'pass',
    });
    if (rule?.action === 'fail') {
      throw new Error(`Attempt ${attempt} of job ${jobId} failed on demand at chunk ${chunk} (test job gate)`);
    }
    if (rule?.action !== 'hold') return;
    const release = path.join(dir, releaseFile(jobId, chunk, attempt));
    // Test-only code: polls for the test's release file; a removed gate releases everything.
    while (fs.existsSync(dir) && !fs.existsSync(release)) await pause(5);
  };
}

/** Records that a process began stopping its job runner (see job-gate-preload.ts). */
export function noteStop(dir: string): void {
  note(dir, { event: 'stop', pid: process.pid, at: Date.now() });
}

export class JobGate {
  private nextRule = 0;

  private constructor(readonly dir: string) {}

  static create(): JobGate {
    return new JobGate(fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-job-gate-')));
  }

  /** Environment for a spawned process (spawnService adds it along with the preload). */
  env(): Record<string, string> {
    return { [JOB_GATE_ENV]: this.dir };
  }

  /** From now on, attempts reaching a matching chunk boundary wait there until released. */
  hold(match: ChunkMatch): void {
    this.addRule({ ...match, action: 'hold' });
  }

  /** From now on, attempts reaching a matching chunk boundary fail there. */
  failAt(match: ChunkMatch): void {
    this.addRule({ ...match, action: 'fail' });
  }

  /** Removes every rule: later boundaries pass (attempts already held stay held until released). */
  clearRules(): void {
    for (const name of fs.readdirSync(this.dir)) if (name.startsWith('rule-')) fs.rmSync(path.join(this.dir, name));
  }

  events(): GateEvent[] {
    let text: string;
    try {
      text = fs.readFileSync(path.join(this.dir, EVENTS), 'utf8');
    } catch {
      return [];
    }
    // Only complete lines: a line being appended right now is read on the next poll.
    return text
      .split('\n')
      .slice(0, -1)
      .map((line) => JSON.parse(line) as GateEvent);
  }

  /** Chunk boundaries reached so far that match. */
  arrivals(match: ChunkMatch & { action?: GateEvent['action'] } = {}): GateEvent[] {
    return this.events().filter(
      (e) =>
        e.event === 'chunk' &&
        matches(match, e.jobId as string, e.chunk as number, e.attempt as number) &&
        (match.action === undefined || e.action === match.action),
    );
  }

  /** Waits until an attempt is held at a matching boundary and answers where. */
  held(match: ChunkMatch = {}, options: WaitOptions = {}): Promise<GateEvent> {
    return this.arrival({ ...match, action: 'hold' }, options);
  }

  /** Waits until an attempt reaches a matching boundary (whatever the hook did there). */
  async arrival(match: ChunkMatch & { action?: GateEvent['action'] }, options: WaitOptions = {}): Promise<GateEvent> {
    return waitFor(() => this.arrivals(match)[0], {
      what: `a job attempt at ${JSON.stringify(match)}`,
      ...options,
      describe: () => JSON.stringify(this.events().slice(-5)),
    });
  }

  /** Waits until `count` attempts are held at matching boundaries at the same time. */
  async heldTogether(count: number, match: ChunkMatch = {}, options: WaitOptions = {}): Promise<GateEvent[]> {
    return waitFor(
      () => {
        const held = this.arrivals({ ...match, action: 'hold' }).filter((e) => !this.isReleased(e));
        return held.length >= count ? held : undefined;
      },
      { what: `${count} job attempts held at ${JSON.stringify(match)}`, ...options },
    );
  }

  /** Waits until a process began stopping its job runner (SIGTERM reached the queue consumer). */
  stopped(pid: number, options: WaitOptions = {}): Promise<GateEvent> {
    return waitFor(() => this.events().find((e) => e.event === 'stop' && e.pid === pid), {
      what: `process ${pid} to stop its job runner`,
      ...options,
    });
  }

  /** Lets a held attempt go on. */
  release(held: GateEvent): void {
    assert.equal(held.event, 'chunk');
    fs.writeFileSync(path.join(this.dir, releaseFile(held.jobId!, held.chunk!, held.attempt!)), '');
  }

  /** Releases every attempt held so far. */
  releaseAll(): void {
    for (const held of this.arrivals({ action: 'hold' })) this.release(held);
  }

  /** Removes the gate: every held attempt goes on and nothing is held any more. */
  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private isReleased(e: GateEvent): boolean {
    return fs.existsSync(path.join(this.dir, releaseFile(e.jobId!, e.chunk!, e.attempt!)));
  }

  private addRule(rule: Rule): void {
    const name = `rule-${String(this.nextRule++).padStart(4, '0')}.json`;
    // Written whole under a temporary name, then renamed: a hook never reads half a rule.
    const temp = path.join(this.dir, `.${name}`);
    fs.writeFileSync(temp, JSON.stringify(rule));
    fs.renameSync(temp, path.join(this.dir, name));
  }
}
