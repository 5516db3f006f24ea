import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { Caller } from '../auth/caller';
import { assertModelInScope } from '../auth/model-scope';
import { ServableVersionsService } from '../models/servable-versions.service';
import { LatencyPercentilesDto, ShadowVersionStatsDto, TrafficStatsDto } from './dto/traffic-stats.dto';
import { PredictionEntity } from './entities/prediction.entity';
import { AGREEMENT_TOLERANCE } from './shadow-agreement';

/**
 * Rows read for the latency percentiles per call at most: the newest answered ones in the window
 * (one index range scan on (model, created_at), newest first, stopped at this many).
 */
export const LATENCY_SAMPLE_ROWS = 20_000;

interface GroupRow {
  version: number | null;
  role: string;
  requests: number | string;
  errors: number | string;
  dropped: number | string;
  compared: number | string;
  agreed: number | string;
  diffs: number | string;
  diff_sum: number | string | null;
  diff_max: number | string | null;
}

/**
 * GET /api/v1/models/{name}/traffic/stats. Everything comes from the prediction log, so the
 * answer covers every replica writing to the database (and only logged rows: with
 * PREDICTION_LOG_SAMPLE_RATE below 1 the counts are of the sample). Per call, two queries on the
 * (model, created_at) index: one GROUP BY over the window's rows of the model (counts, errors,
 * drops, agreement and relative differences summed in SQL, no row leaves the database), and one
 * read of at most LATENCY_SAMPLE_ROWS latencies, the newest answered ones, for the percentiles.
 * Rows still in a replica's log buffer (PREDICTION_LOG_FLUSH_MS) are not counted yet.
 */
@Injectable()
export class TrafficStatsService {
  constructor(
    @InjectRepository(PredictionEntity) private readonly rows: Repository<PredictionEntity>,
    private readonly versions: ServableVersionsService,
  ) {}

  async stats(name: string, minutes: number, caller: Caller): Promise<TrafficStatsDto> {
    assertModelInScope(caller, name);
    await this.versions.readyVersions(name); // 404 for an unknown model
    const since = new Date(Date.now() - minutes * 60_000);
    const [groups, latencies] = await Promise.all([this.groups(name, since), this.latencies(name, since)]);
    const result: TrafficStatsDto = {
      model: name,
      minutes,
      since: since.toISOString(),
      tolerance: AGREEMENT_TOLERANCE,
      versions: [],
      shadows: [],
    };
    for (const group of groups) {
      if (group.role === 'shadow') {
        result.shadows.push(shadowStats(group, latencies.get(`shadow:${group.version}`)));
      } else if (group.version !== null) {
        result.versions.push({
          version: Number(group.version),
          requests: Number(group.requests),
          errors: Number(group.errors),
          latencyMs: percentiles(latencies.get(`served:${group.version}`)),
        });
      }
    }
    const byVersion = (a: { version: number | null }, b: { version: number | null }) =>
      (a.version ?? 0) - (b.version ?? 0);
    result.versions.sort(byVersion);
    result.shadows.sort(byVersion);
    return result;
  }

  private async groups(name: string, since: Date): Promise<GroupRow[]> {
    return this.rows
      .createQueryBuilder('p')
      .select('p.version', 'version')
      .addSelect('p.role', 'role')
      .addSelect('COUNT(*)', 'requests')
      .addSelect(`SUM(CASE WHEN p.status <> 'ok' AND p.status <> 'dropped' THEN 1 ELSE 0 END)`, 'errors')
      .addSelect(`SUM(CASE WHEN p.status = 'dropped' THEN 1 ELSE 0 END)`, 'dropped')
      .addSelect('SUM(CASE WHEN p.agrees IS NULL THEN 0 ELSE 1 END)', 'compared')
      .addSelect('SUM(CASE WHEN p.agrees THEN 1 ELSE 0 END)', 'agreed')
      .addSelect('COUNT(p.maxRelDiff)', 'diffs')
      .addSelect('SUM(p.maxRelDiff)', 'diff_sum')
      .addSelect('MAX(p.maxRelDiff)', 'diff_max')
      .where('p.model = :name', { name })
      .andWhere('p.createdAt >= :since', { since: this.timestamp(since) })
      .groupBy('p.version')
      .addGroupBy('p.role')
      .getRawMany<GroupRow>();
  }

  /** Answered rows' latencies by `role:version`, the newest LATENCY_SAMPLE_ROWS of the window. */
  private async latencies(name: string, since: Date): Promise<Map<string, number[]>> {
    const rows = await this.rows
      .createQueryBuilder('p')
      .select('p.version', 'version')
      .addSelect('p.role', 'role')
      .addSelect('p.latencyMs', 'latency')
      .where('p.model = :name', { name })
      .andWhere('p.createdAt >= :since', { since: this.timestamp(since) })
      .andWhere(`p.status = 'ok'`)
      .orderBy('p.createdAt', 'DESC')
      .limit(LATENCY_SAMPLE_ROWS)
      .getRawMany<{ version: number | null; role: string; latency: number | string }>();
    const byKey = new Map<string, number[]>();
    for (const row of rows) {
      const key = `${row.role}:${row.version}`;
      let list = byKey.get(key);
      if (!list) byKey.set(key, (list = []));
      list.push(Number(row.latency));
    }
    return byKey;
  }

  /** SQLite keeps TypeORM's UTC text format (see PredictionLogService.insertBatch); PostgreSQL a timestamptz. */
  private timestamp(date: Date): Date | string {
    if (this.rows.manager.connection.options.type === 'postgres') return date;
    return date.toISOString().replace('T', ' ').replace('Z', '');
  }
}

function shadowStats(group: GroupRow, latencies: number[] | undefined): ShadowVersionStatsDto {
  const compared = Number(group.compared);
  const diffs = Number(group.diffs);
  const dropped = Number(group.dropped);
  return {
    version: group.version === null ? null : Number(group.version),
    mirrored: Number(group.requests) - dropped,
    dropped,
    errors: Number(group.errors),
    compared,
    agreement: compared > 0 ? Number(group.agreed) / compared : null,
    maxRelDiff: diffs > 0 ? { mean: Number(group.diff_sum) / diffs, max: Number(group.diff_max) } : null,
    latencyMs: percentiles(latencies),
  };
}

/** Nearest-rank percentiles of a sample (milliseconds, rounded to a microsecond); null for none. */
export function percentiles(sample: number[] | undefined): LatencyPercentilesDto | null {
  if (!sample || sample.length === 0) return null;
  const sorted = Float64Array.from(sample).sort();
  const at = (p: number) => {
    const value = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
    return Math.round(value * 1000) / 1000;
  };
  return { p50: at(50), p95: at(95), p99: at(99), sample: sorted.length };
}
