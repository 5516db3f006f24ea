#!/usr/bin/env node
// npm run coverage: the same run as `npm test` (scripts/run-tests.mjs, same filters), with V8
// coverage collected by Node (NODE_V8_COVERAGE) from every process and thread the tests start:
// the test files, in-process apps, inference processes, spawned services and worker threads.
// c8 maps it back to src/ through the compiled code's source maps (.c8rc.json: only src counts;
// coverage/index.html is the report). Prints one line, `coverage: lines NN.N% branches NN.N%`,
// and exits non-zero if a test failed or coverage is under 95% of lines or 90% of branches.
// Usage: node scripts/coverage.mjs [substring filter ...]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const MIN_LINES = 95;
const MIN_BRANCHES = 90;

const config = JSON.parse(readFileSync('.c8rc.json', 'utf8'));
const reports = resolve(config['reports-dir']);
// Outside the repository: the fuzz spec fails on any file that changes in it during its run.
const raw = mkdtempSync(join(tmpdir(), 'modelforge-coverage-'));
rmSync(reports, { recursive: true, force: true });

const tests = spawnSync(process.execPath, ['scripts/run-tests.mjs', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, NODE_V8_COVERAGE: raw },
});
const report = spawnSync(process.execPath, ['node_modules/c8/bin/c8.js', 'report', '--temp-directory', raw], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
rmSync(raw, { recursive: true, force: true });
if (report.status !== 0) {
  console.error('coverage: c8 could not write the report');
  process.exit(1);
}
const { total } = JSON.parse(readFileSync(resolve(reports, 'coverage-summary.json'), 'utf8'));
const lines = total.lines.pct;
const branches = total.branches.pct;
console.log(`coverage: lines ${lines.toFixed(1)}% branches ${branches.toFixed(1)}%`);
const below = lines < MIN_LINES || branches < MIN_BRANCHES;
if (below) console.error(`coverage: below the minimum of ${MIN_LINES}% lines, ${MIN_BRANCHES}% branches`);
process.exit(tests.status !== 0 ? (tests.status ?? 1) : below ? 1 : 0);
