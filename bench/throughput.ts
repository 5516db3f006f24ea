/**
 * The throughput cells of npm run bench: ModelForge (no-cache and default paths, batching on and
 * off for the MLP), the Express baseline and direct session.run, the same model and concurrency
 * side by side, and the targets they decide.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LoadResult, runLoad } from './load';
import { AUTH_HEADER, Spawned, metricsWindow, startExpressBaseline } from './processes';
import { Target, fmt, row } from './targets';
import {
  BenchModel,
  DURATION_MS,
  MLP,
  NO_CACHE,
  directRun,
  distinctBodies,
  fixedBody,
  sampleInput,
  setBatching,
  BATCHING_SETTINGS,
} from './workload';

const BATCHING = process.env.BENCH_BATCHING !== 'off';

export interface Cell {
  model: string;
  concurrency: number;
  side: string;
  result: LoadResult;
  /** Event-loop delay p99 of the serving process during the cell (ms). */
  loopMs?: number;
  meanBatch?: number;
}

type Path = 'no-cache' | 'default';
const PATH_LABEL: Record<Path, string> = {
  'no-cache': 'no-cache',
  default: 'default (cache on, every input distinct)',
};

/** One ModelForge cell, with the event-loop delay and batch sizes /metrics saw meanwhile. */
async function forgeCell(baseUrl: string, model: BenchModel, variant: Path, concurrency: number, side: string) {
  const window = await metricsWindow(baseUrl);
  const result = await runLoad({
    url: `${baseUrl}/api/v1/predictions`,
    body: variant === 'default' ? distinctBodies(model) : fixedBody(model),
    headers: variant === 'default' ? AUTH_HEADER : { ...AUTH_HEADER, ...NO_CACHE },
    concurrency,
    durationMs: DURATION_MS,
  });
  const seen = await window.stop();
  if (variant === 'default' && (result.cache.HIT ?? 0) > 0) {
    throw new Error(`${model.name} default path: ${result.cache.HIT} cache hits where every input was distinct`);
  }
  const cell: Cell = {
    model: model.name,
    concurrency,
    side,
    result,
    loopMs: seen.loopDelayP99.seconds * 1000,
    meanBatch: seen.meanBatchSize,
  };
  return { cell, loopSource: seen.loopDelayP99.source };
}

/** Throughput cells for one model: ModelForge (both paths, and batching for the MLP), Express, direct. */
export async function measureModel(
  mf: Spawned,
  model: BenchModel,
  work: string,
  cells: Cell[],
  loopSources: Set<string>,
): Promise<void> {
  const modelPath = path.join(work, `${model.name}.onnx`);
  fs.writeFileSync(modelPath, model.bytes);
  const express = await startExpressBaseline(modelPath, 39101);
  try {
    const forge = async (p: Path, concurrency: number, side: string) => {
      const { cell, loopSource } = await forgeCell(mf.baseUrl, model, p, concurrency, side);
      loopSources.add(loopSource);
      cells.push(cell);
    };
    for (const concurrency of [1, 16]) {
      await forge('no-cache', concurrency, `ModelForge, ${PATH_LABEL['no-cache']}`);
      await forge('default', concurrency, `ModelForge, ${PATH_LABEL.default}`);
      await fetch(`${express.baseUrl}/stats`);
      const hand = await runLoad({
        url: `${express.baseUrl}/predict`,
        body: JSON.stringify({ inputs: { [model.inputName]: sampleInput(model.shape) } }),
        concurrency,
        durationMs: DURATION_MS,
      });
      const handStats = (await (await fetch(`${express.baseUrl}/stats`)).json()) as { eventLoopP99Ms: number };
      cells.push({ model: model.name, concurrency, side: 'Express', result: hand, loopMs: handStats.eventLoopP99Ms });
      cells.push({
        model: model.name,
        concurrency,
        side: 'direct session.run',
        result: await directRun(model, concurrency),
      });
    }
    if (model === MLP && BATCHING) {
      await setBatching(mf.baseUrl, model, BATCHING_SETTINGS);
      for (const concurrency of [1, 16]) {
        await forge('no-cache', concurrency, `ModelForge, batching on, ${PATH_LABEL['no-cache']}`);
        await forge('default', concurrency, `ModelForge, batching on, ${PATH_LABEL.default}`);
      }
      await setBatching(mf.baseUrl, model, { enabled: false });
    }
  } finally {
    await express.stop();
  }
}

function find(cells: Cell[], model: string, concurrency: number, side: string): Cell | undefined {
  return cells.find((c) => c.model === model && c.concurrency === concurrency && c.side === side);
}

/** The targets that the throughput cells decide. */
export function throughputTargets(cells: Cell[]): Target[] {
  const targets: Target[] = [];
  const rps = (c?: Cell) => c?.result.rps ?? NaN;
  for (const p of ['no-cache', 'default'] as Path[]) {
    const side = `ModelForge, ${PATH_LABEL[p]}`;
    const batched = `ModelForge, batching on, ${PATH_LABEL[p]}`;
    const mlp16 = find(cells, 'mlp', 16, side);
    const express16 = find(cells, 'mlp', 16, 'Express');
    targets.push({
      name: `MLP c16, ${p}: ModelForge / Express rps`,
      sides: `${fmt(rps(mlp16), 0)} vs ${fmt(rps(express16), 0)}`,
      value: rps(mlp16) / rps(express16),
      goal: '>= 1.0x',
      met: rps(mlp16) >= rps(express16),
    });
    const b16 = find(cells, 'mlp', 16, batched);
    targets.push({
      name: `MLP c16, ${p}, batching on / off rps`,
      sides: b16 ? `${fmt(rps(b16), 0)} vs ${fmt(rps(mlp16), 0)}` : 'not measured (BENCH_BATCHING=off)',
      value: rps(b16) / rps(mlp16),
      goal: '>= 2.0x',
      met: b16 ? rps(b16) >= 2 * rps(mlp16) : undefined,
    });
    targets.push({
      name: `MLP c16, ${p}, batching on / Express rps`,
      sides: b16 ? `${fmt(rps(b16), 0)} vs ${fmt(rps(express16), 0)}` : 'not measured (BENCH_BATCHING=off)',
      value: rps(b16) / rps(express16),
      goal: '>= 1.5x',
      met: b16 ? rps(b16) >= 1.5 * rps(express16) : undefined,
    });
    const mlp1 = find(cells, 'mlp', 1, side);
    const express1 = find(cells, 'mlp', 1, 'Express');
    const above = (mlp1?.result.p50Ms ?? NaN) - (express1?.result.p50Ms ?? NaN);
    targets.push({
      name: `MLP c1, ${p}: p50 above Express (ms)`,
      sides: `${fmt(mlp1?.result.p50Ms ?? NaN, 3)} vs ${fmt(express1?.result.p50Ms ?? NaN, 3)} ms`,
      value: above,
      unit: ' ms',
      goal: '<= 0.5 ms',
      met: above <= 0.5,
    });
    const cnn16 = find(cells, 'cnn', 16, side);
    const cnnExpress = find(cells, 'cnn', 16, 'Express');
    targets.push({
      name: `CNN c16, ${p}: ModelForge / Express rps`,
      sides: `${fmt(rps(cnn16), 0)} vs ${fmt(rps(cnnExpress), 0)}`,
      value: rps(cnn16) / rps(cnnExpress),
      goal: '>= 1.5x',
      met: rps(cnn16) >= 1.5 * rps(cnnExpress),
    });
    const loop = cnn16?.loopMs ?? NaN;
    targets.push({
      name: `CNN c16, ${p}: event-loop delay p99 of the HTTP process (ms)`,
      sides: `ModelForge ${fmt(loop, 1)} ms (Express ${fmt(cnnExpress?.loopMs ?? NaN, 1)} ms)`,
      value: loop,
      unit: ' ms',
      goal: '< 20 ms',
      met: Number.isFinite(loop) ? loop < 20 : undefined,
    });
  }
  return targets;
}

export function throughputLines(cells: Cell[], loopSources: Set<string>): string[] {
  const lines = [
    '## Throughput and latency',
    '',
    `Each cell: ${DURATION_MS} ms of closed-loop load after a warm-up, JSON bodies on every server. ` +
      '"vs Express" compares with the Express cell of the same model and concurrency. Event-loop delay: ' +
      `p99 of the serving process during the cell (ModelForge from /metrics: ${[...loopSources].join(', ')}).` +
      (BATCHING ? ` Batching: ${JSON.stringify(BATCHING_SETTINGS)}.` : ' Batching rows skipped (BENCH_BATCHING=off).'),
    '',
    row([
      'model',
      'conc.',
      'side',
      'rps',
      'p50 / p99 ms',
      'vs Express',
      'loop p99 ms',
      'mean batch',
      'X-Cache',
      'errors',
    ]),
    row(['---', '---:', '---', '---:', '---:', '---:', '---:', '---:', '---', '---:']),
  ];
  for (const c of cells) {
    const express = find(cells, c.model, c.concurrency, 'Express');
    lines.push(
      row([
        c.model,
        c.concurrency,
        c.side,
        fmt(c.result.rps, 0),
        `${fmt(c.result.p50Ms, 2)} / ${fmt(c.result.p99Ms, 2)}`,
        c.side === 'Express' || !express
          ? ''
          : `${fmt(c.result.rps / express.result.rps, 2)}x (${fmt(c.result.rps, 0)} vs ${fmt(express.result.rps, 0)})`,
        c.loopMs === undefined ? '' : fmt(c.loopMs, 1),
        c.meanBatch === undefined || !Number.isFinite(c.meanBatch) ? '' : fmt(c.meanBatch, 1),
        Object.entries(c.result.cache)
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
        c.result.errors,
      ]),
    );
  }
  return lines;
}

export function breakdownLines(cells: Cell[]): string[] {
  const stages = ['receive', 'parse', 'resolve', 'validate', 'queue', 'inference', 'encode'];
  const lines = [
    '## Where ModelForge time goes at concurrency 16 (mean ms per request, from Server-Timing)',
    '',
    row(['model', 'side', ...stages, 'client p50']),
    row(Array(stages.length + 3).fill('---')),
  ];
  for (const c of cells.filter((c) => c.concurrency === 16 && c.side.startsWith('ModelForge'))) {
    lines.push(row([c.model, c.side, ...stages.map((k) => fmt(c.result.stages[k] ?? NaN, 3)), fmt(c.result.p50Ms, 2)]));
  }
  return lines;
}
