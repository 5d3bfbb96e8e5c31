// The alert rules and the chart's Grafana dashboard read only series that exist: every expression parses with the
// Prometheus grammar, and every metric it names is one the service or its exporters emit (their real registries)
// or one of the documented external series (kube-state-metrics, the kubelet, Prometheus' up).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { GraminstaAppSpec } from '../../../operator/api/types.gen.js';
import { alertRules } from '../../../operator/render/alerts.render.js';
import { EXTERNAL_METRICS, emittedMetricNames, metricNames, promqlProblems } from '../../support/promql.js';
import { repoRoot } from '../../support/cluster.js';
import { app, plan } from './helpers.js';

const FULL: GraminstaAppSpec = { users: 100000, cdn: { origin: { volume: { size: '1Gi' } } }, database: { readReplicas: 2, backup: { schedule: '@daily', destination: { s3: { bucket: 'backups', credentialsSecret: 'b' } } } }, cache: { enabled: true, shards: 3 }, monitoring: { enabled: true } };

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

/** The dashboard's queries with Grafana's variables put in (as Grafana does before it sends them). */
function dashboardQueries(): { where: string; expr: string }[] {
  const dash = JSON.parse(readFileSync(join(repoRoot, 'charts', 'graminsta-operator', 'dashboards', 'graminsta.json'), 'utf8')) as { panels: Panel[]; templating: { list: { name: string; query: unknown }[] } };
  const vars: Record<string, string> = { __rate_interval: '2m', namespace: 'photos', app: 'graminsta', datasource: 'prometheus' };
  const substitute = (expr: string) =>
    expr.replace(/\$(\w+)/g, (_, name: string) => {
      if (!(name in vars)) throw new Error(`unknown dashboard variable $${name} in ${expr}`);
      return vars[name]!;
    });
  const out = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: substitute(t.expr) })));
  for (const v of dash.templating.list) {
    const q = (v.query as { query?: string })?.query;
    const inner = q ? /^label_values\((.*), *\w+\)$/.exec(q)?.[1] : undefined;
    if (inner) out.push({ where: `variable $${v.name}`, expr: substitute(inner) });
  }
  return out;
}

describe('alert rules and dashboard queries', () => {
  let emitted: Set<string>;
  before(async () => {
    emitted = await emittedMetricNames();
  });

  it('knows the emitted series from the real registries (a sanity check of the check)', () => {
    for (const name of ['http_request_duration_seconds_bucket', 'graminsta_cache_requests_total', 'pg_replication_lag_seconds', 'redis_keyspace_hits_total', 'process_cpu_seconds_total']) expect(emitted).to.include(name);
    expect(emitted).to.not.include('pg_replication_lag');
    expect(promqlProblems('sum(rate(x[5m])')).to.not.deep.equal([]);
    expect(metricNames('sum(rate(a_total{x="y"}[5m])) / on() b > 0 and up')).to.deep.equal(['a_total', 'b', 'up']);
  });

  it('every alert of the fullest stage parses and reads only series we emit or document', () => {
    const rules = alertRules(plan(app(FULL)));
    expect(rules.length).to.be.greaterThan(8);
    for (const r of rules) {
      expect(promqlProblems(r.expr), `${r.alert}: ${r.expr}`).to.deep.equal([]);
      const names = metricNames(r.expr);
      expect(names, r.alert).to.not.be.empty;
      for (const n of names) expect(emitted.has(n) || n in EXTERNAL_METRICS, `${r.alert} reads ${n}, which nothing emits`).to.equal(true);
      expect(r.for).to.match(/^\d+m$/);
      expect(['warning', 'critical']).to.include(r.labels.severity);
    }
    expect(new Set(rules.map((r) => r.alert)).size, 'alert names are unique').to.equal(rules.length);
  });

  it('every dashboard query parses and reads only series we emit or document; one row per tier', () => {
    const queries = dashboardQueries();
    expect(queries.length).to.be.greaterThan(20);
    const read = new Set<string>();
    for (const { where, expr } of queries) {
      expect(promqlProblems(expr), `${where}: ${expr}`).to.deep.equal([]);
      for (const n of metricNames(expr)) {
        read.add(n);
        expect(emitted.has(n) || n in EXTERNAL_METRICS, `${where} reads ${n}, which nothing emits`).to.equal(true);
      }
    }
    const dash = JSON.parse(readFileSync(join(repoRoot, 'charts', 'graminsta-operator', 'dashboards', 'graminsta.json'), 'utf8')) as { panels: Panel[] };
    expect(dash.panels.filter((p) => p.type === 'row').map((p) => p.title)).to.deep.equal(['API', 'Web', 'Origin', 'Postgres', 'Redis']);
    // The series the alerts fire on are on the dashboard too.
    for (const n of ['pg_replication_lag_seconds', 'graminsta_cache_requests_total', 'kubelet_volume_stats_available_bytes', 'http_request_duration_seconds_bucket']) expect(read).to.include(n);
  });
});
