/** What a fuzz run found, grouped, and how it is printed. */
import type { Engine } from '../support/postgres';
import type { Violation } from './response-check';

export interface Finding {
  rule: Violation['rule'];
  index: number;
  operationId: string;
  mutation: string;
  status?: number;
  detail: string;
  /** The error the service logged for the request, when it logged one. */
  serverError?: string;
  request: string;
}

export interface DistinctFinding extends Finding {
  count: number;
  /** Every operation where it was seen. */
  operations: string[];
}

export interface FuzzReport {
  engine: Engine;
  seed: number;
  requests: number;
  byStatus: Record<string, number>;
  /** Every operationId of /docs-json. */
  documented: string[];
  byOperation: Record<string, number>;
  serverErrors: number;
  /** Requests that broke a rule (a request can break several). */
  findings: number;
  /** Findings grouped by rule, operation, status and cause, each with its first example. */
  distinct: DistinctFinding[];
  /** What the checks after the run found wrong (readiness, registry, stray files, crashes). */
  afterRun: string[];
  durationMs: number;
  slowestMs: number;
  rssBeforeBytes: number;
  /** RSS once a tenth of the requests (at most 1,000) are answered: heaps and caches have grown to size. */
  rssWarmBytes: number;
  rssAfterBytes: number;
  /** RSS after every 1,000 requests, to tell a leak from a one-time growth. */
  rssSamples: Array<[requests: number, bytes: number]>;
}

function normalize(text: string): string {
  return text
    .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, '<uuid>')
    .replace(/\d+/g, 'N')
    .slice(0, 160);
}

/** Groups findings as they come, keeping the first example of each: memory stays flat. */
export class FindingGroups {
  private readonly groups = new Map<string, DistinctFinding>();

  add(f: Finding): void {
    // A malformed error body is usually made by one layer for every route: group it by what is wrong.
    const where = f.rule === 'error-body' ? '' : f.operationId;
    const key = [f.rule, where, f.status, normalize(f.serverError ?? f.detail)].join('|');
    const group = this.groups.get(key);
    if (!group) this.groups.set(key, { ...f, count: 1, operations: [f.operationId] });
    else {
      group.count++;
      if (!group.operations.includes(f.operationId)) group.operations.push(f.operationId);
    }
  }

  list(): DistinctFinding[] {
    return [...this.groups.values()].sort((a, b) => b.count - a.count);
  }
}

/** One line: requests, statuses, 5xx, duration and memory. */
export function summaryLine(report: FuzzReport): string {
  const statuses = Object.entries(report.byStatus)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, count]) => `${status}:${count}`)
    .join(' ');
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  const growth = (from: number) => `${from > 0 ? ((report.rssAfterBytes / from - 1) * 100).toFixed(1) : '?'}%`;
  return (
    `fuzz engine=${report.engine} seed=${report.seed} requests=${report.requests} statuses=[${statuses}] ` +
    `5xx=${report.serverErrors} findings=${report.findings} distinct=${report.distinct.length} ` +
    `after-run-problems=${report.afterRun.length} duration=${(report.durationMs / 1000).toFixed(1)}s ` +
    `slowest=${report.slowestMs}ms rss=${mb(report.rssBeforeBytes)}MB->${mb(report.rssWarmBytes)}MB (warm)->${mb(report.rssAfterBytes)}MB ` +
    `(growth ${growth(report.rssBeforeBytes)} from start, ${growth(report.rssWarmBytes)} after warm-up)`
  );
}

/** Every distinct finding with an example request and how to replay it. */
export function findingsText(report: FuzzReport): string {
  return report.distinct
    .map((f, i) => {
      const where = f.operations.length > 3 ? `${f.operations.length} operations` : f.operations.join(', ');
      const head = `#${i + 1} ${f.rule} x${f.count} ${where} status=${f.status ?? '-'}: ${f.detail}`;
      const cause = f.serverError ? `\n   server: ${f.serverError.slice(0, 400)}` : '';
      const replay = `\n   replay: npm run fuzz -- --engine ${report.engine} --seed ${report.seed} --replay ${f.index}`;
      return `${head}${cause}\n   input: ${f.mutation}\n   ${f.request.split('\n').join('\n   ')}${replay}`;
    })
    .join('\n');
}
