// PromQL checks for the alert rules and the dashboard: a syntax check with the Prometheus project's own grammar
// (@prometheus-io/lezer-promql, the parser of Prometheus' web UI), the metric names an expression reads, and the
// names our processes emit (read from the real registries, not from a list).
import { parser } from '@prometheus-io/lezer-promql';
import type { Registry } from 'prom-client';
import { createMetrics } from '../../service/metrics.js';
import { POSTGRES_FAMILIES, REDIS_FAMILIES } from '../../service/exporter/exporter.service.js';

/** Series that others emit, which the rules and the dashboard may read, and who emits them (docs/monitoring.md). */
export const EXTERNAL_METRICS: Record<string, string> = {
  up: 'Prometheus, for every scrape target',
  kube_horizontalpodautoscaler_status_current_replicas: 'kube-state-metrics',
  kube_horizontalpodautoscaler_spec_max_replicas: 'kube-state-metrics',
  kube_cronjob_status_last_schedule_time: 'kube-state-metrics',
  kube_cronjob_status_last_successful_time: 'kube-state-metrics',
  kubelet_volume_stats_available_bytes: 'the kubelet',
  kubelet_volume_stats_capacity_bytes: 'the kubelet',
};

/** Syntax errors of expr, each with its position; empty when the Prometheus grammar accepts it. */
export function promqlProblems(expr: string): string[] {
  const problems: string[] = [];
  const cursor = parser.parse(expr).cursor();
  do {
    if (cursor.type.isError) problems.push(`syntax error at ${cursor.from}: ${JSON.stringify(expr.slice(Math.max(0, cursor.from - 20), cursor.from + 20))}`);
  } while (cursor.next());
  return problems;
}

/** The metric names the expression's vector selectors read (the Identifier of each VectorSelector). */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  const cursor = parser.parse(expr).cursor();
  do {
    if (cursor.type.name === 'VectorSelector' && cursor.firstChild()) {
      if ((cursor.type.name as string) === 'Identifier') names.add(expr.slice(cursor.from, cursor.to));
      cursor.parent();
    }
  } while (cursor.next());
  return [...names].sort();
}

/** The sample names a registry exposes (a histogram as its _bucket, _sum and _count series). */
async function sampleNames(registry: Registry): Promise<string[]> {
  const out: string[] = [];
  for (const m of await registry.getMetricsAsJSON()) {
    const type = String(m.type);
    if (type === 'histogram') out.push(`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`);
    else if (type === 'summary') out.push(m.name, `${m.name}_sum`, `${m.name}_count`);
    else out.push(m.name);
  }
  return out;
}

/** Every sample name the photo service and its two exporters can expose, from their real registries. */
export async function emittedMetricNames(): Promise<Set<string>> {
  const service = createMetrics();
  // The exporters print every family's HELP and TYPE on each scrape (exporter.int.test.ts scrapes them).
  return new Set([...(await sampleNames(service.registry)), ...[...POSTGRES_FAMILIES, ...REDIS_FAMILIES].map((f) => f.name)]);
}
