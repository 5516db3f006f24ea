/**
 * `npm run fuzz -- [--requests N] [--seed S] [--engine sqlite|postgres] [--replay I] [--quiet]`
 *
 * Runs the HTTP fuzzer against the real service and prints one summary line, then every distinct
 * finding with an example request and its replay command. Exits 1 when anything was found.
 */
import { parseArgs } from 'node:util';
import { findingsText, summaryLine } from './fuzz-report';
import { runHttpFuzz } from './http-fuzzer';

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,10}$/.test(value))
    throw new Error(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string' },
      seed: { type: 'string' },
      engine: { type: 'string' },
      replay: { type: 'string' },
      quiet: { type: 'boolean' },
    },
  });
  const engine = values.engine ?? 'sqlite';
  if (engine !== 'sqlite' && engine !== 'postgres')
    throw new Error(`--engine must be sqlite or postgres, got ${engine}`);
  const seed = positiveInteger('seed', values.seed, Date.now() % 2 ** 31);
  const requests = positiveInteger('requests', values.requests, 10_000);
  const replay = values.replay === undefined ? undefined : positiveInteger('replay', values.replay, 0);
  let lastShown = 0;
  const report = await runHttpFuzz({
    engine,
    seed,
    requests,
    replay,
    progress: values.quiet
      ? undefined
      : (sent) => {
          if (sent - lastShown < 1000) return;
          lastShown = sent;
          process.stderr.write(`... ${sent} requests\n`);
        },
  });
  process.stdout.write(`${summaryLine(report)}\n`);
  if (!values.quiet && report.rssSamples.length > 1) {
    const samples = report.rssSamples.map(([n, bytes]) => `${n}:${(bytes / 1024 / 1024).toFixed(0)}MB`).join(' ');
    process.stderr.write(`rss by requests: ${samples}\n`);
  }
  if (report.distinct.length > 0) process.stdout.write(`${findingsText(report)}\n`);
  for (const problem of report.afterRun) process.stdout.write(`after the run: ${problem}\n`);
  process.exitCode = report.findings > 0 || report.afterRun.length > 0 ? 1 : 0;
}

main().catch((error: unknown) => {
  process.stderr.write(`fuzz: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(2);
});
