// The PrometheusRule of a monitored app: alerts for the tiers its stage runs, on the series the PodMonitors scrape
// (the service and its exporters) and on kube-state-metrics' and the kubelet's (docs/monitoring.md lists each).
import type { KubernetesObject } from '@kubernetes/client-node';
import { APP_LABEL, MONITORING_API_VERSION, monitoringMeta, TIER_LABEL, type PodMonitor } from './monitoring.render.js';
import { redisStatefulSetName, type Plan, type ResolvedPlan } from './plan.render.js';

/** One alerting rule. */
export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'warning' | 'critical' };
  annotations: { summary: string; description: string };
}

/** A monitoring.coreos.com/v1 PrometheusRule, as far as the operator fills it. */
export interface PrometheusRule extends KubernetesObject {
  apiVersion: typeof MONITORING_API_VERSION;
  kind: 'PrometheusRule';
  metadata: PodMonitor['metadata'];
  spec: { groups: { name: string; rules: AlertRule[] }[] };
}

/** Thresholds of the alerts (documented in docs/monitoring.md). */
export const ALERT_THRESHOLDS = {
  /** Share of API responses that are 5xx. */
  errorRatio: 0.05,
  /** p99 of API request duration, seconds. */
  p99Seconds: 1,
  /** Share of profile cache lookups that hit, below which the cache is not doing its job. */
  cacheHitRatio: 0.5,
  /** Share of a volume still free. */
  volumeFreeRatio: 0.1,
} as const;

/** The label matchers of one tier's series of this app. */
function sel(plan: Plan, tier: string, extra = ''): string {
  return `{namespace="${plan.names.namespace}",${APP_LABEL}="${plan.names.app}",${TIER_LABEL}="${tier}"${extra ? `,${extra}` : ''}}`;
}

const PROBES = 'route!~"/healthz|/readyz"';

function rule(alert: string, expr: string, forDuration: string, severity: AlertRule['labels']['severity'], summary: string, description: string): AlertRule {
  return { alert, expr, for: forDuration, labels: { severity }, annotations: { summary, description } };
}

/** The alerts of the tiers the plan runs. */
export function alertRules(plan: Plan): AlertRule[] {
  const { app, namespace } = plan.names;
  const t = ALERT_THRESHOLDS;
  const api = sel(plan, 'api', PROBES);
  const rules: AlertRule[] = [
    rule(
      'GraminstaTargetDown',
      `up{namespace="${namespace}",${APP_LABEL}="${app}"} == 0`,
      '5m',
      'warning',
      `A ${app} metrics endpoint cannot be scraped`,
      `{{ $labels.${TIER_LABEL} }} pod {{ $labels.pod }} has not answered its metrics scrape for 5 minutes.`,
    ),
    rule(
      'GraminstaApiErrorRate',
      `sum(rate(http_request_duration_seconds_count${sel(plan, 'api', `${PROBES},status=~"5.."`)}[5m])) / sum(rate(http_request_duration_seconds_count${api}[5m])) > ${t.errorRatio}`,
      '10m',
      'critical',
      `${app}: more than ${t.errorRatio * 100}% of API responses are 5xx`,
      'The API answered {{ $value | humanizePercentage }} of its requests with a 5xx over the last 5 minutes.',
    ),
    rule(
      'GraminstaApiLatencyP99',
      `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket${api}[5m]))) > ${t.p99Seconds}`,
      '10m',
      'warning',
      `${app}: API p99 latency above ${t.p99Seconds} s`,
      'The 99th percentile of API request duration is {{ $value | humanizeDuration }}.',
    ),
  ];
  const hpas = [plan.api.autoscaling && plan.database.placement !== 'embedded' ? plan.names.api : null, plan.web?.autoscaling ? plan.names.web : null].filter((n): n is string => n !== null);
  for (const hpa of hpas) {
    const m = `{namespace="${namespace}",horizontalpodautoscaler="${hpa}"}`;
    rules.push(
      rule(
        hpa === plan.names.api ? 'GraminstaApiAtMaxReplicas' : 'GraminstaWebAtMaxReplicas',
        `kube_horizontalpodautoscaler_status_current_replicas${m} >= kube_horizontalpodautoscaler_spec_max_replicas${m}`,
        '15m',
        'warning',
        `${hpa} has run at its HPA's maxReplicas for 15 minutes`,
        'The HorizontalPodAutoscaler cannot add pods: raise autoscaling.maxReplicas or the users hint (next stage).',
      ),
    );
  }
  if (plan.database.placement !== 'external') {
    rules.push(
      rule('GraminstaPostgresDown', `pg_up${sel(plan, 'database')} == 0`, '2m', 'critical', `${app}: a Postgres server does not answer its exporter`, 'pod {{ $labels.pod }}: the metrics sidecar cannot query Postgres.'),
    );
    if (plan.database.placement === 'in-cluster' && plan.database.readReplicas > 0) {
      // The bound past which the replica's readiness probe takes it out of the -ro Service.
      const lag = plan.database.maxReplicaLagSeconds;
      rules.push(
        rule(
          'GraminstaPostgresReplicaLag',
          `pg_replication_lag_seconds${sel(plan, 'database')} > ${lag}`,
          '5m',
          'warning',
          `${app}: a read replica lags more than ${lag} s (spec.database.maxReplicaLagSeconds) and serves no reads`,
          'pod {{ $labels.pod }} replays WAL {{ $value | humanizeDuration }} behind the primary.',
        ),
      );
    }
    const backup = plan.database.placement === 'in-cluster' ? plan.database.backup : null;
    if (backup && !backup.suspend) {
      // kube-state-metrics' CronJob times: the newest scheduled run has not succeeded (or none ever has) for an hour.
      const m = `{namespace="${namespace}",cronjob="${plan.names.backup}"}`;
      rules.push(
        rule(
          'GraminstaBackupFailing',
          `kube_cronjob_status_last_schedule_time${m} > kube_cronjob_status_last_successful_time${m} or (kube_cronjob_status_last_schedule_time${m} unless kube_cronjob_status_last_successful_time${m})`,
          '60m',
          'critical',
          `${app}: the last scheduled database backup has not succeeded for an hour`,
          `The CronJob ${plan.names.backup} ran a backup that has not completed; the app's BackupReady condition names the problem (credentials, bucket, database).`,
        ),
      );
    }
  }
  if (plan.cache) {
    rules.push(
      rule('GraminstaRedisDown', `redis_up${sel(plan, 'cache')} == 0`, '2m', 'critical', `${app}: a Redis node does not answer its exporter`, 'pod {{ $labels.pod }}: the metrics sidecar cannot read INFO.'),
      rule(
        'GraminstaCacheHitRatioLow',
        `sum(rate(graminsta_cache_requests_total${sel(plan, 'api', 'result="hit"')}[15m])) / sum(rate(graminsta_cache_requests_total${sel(plan, 'api', 'result=~"hit|miss"')}[15m])) < ${t.cacheHitRatio} and sum(rate(graminsta_cache_requests_total${sel(plan, 'api')}[15m])) > 1`,
        '30m',
        'warning',
        `${app}: profile cache hit ratio below ${t.cacheHitRatio * 100}%`,
        'Only {{ $value | humanizePercentage }} of profile lookups hit Redis over 15 minutes (more than one lookup a second).',
      ),
    );
  }
  const claims = volumeClaimPattern(plan);
  if (claims) {
    const m = `{namespace="${namespace}",persistentvolumeclaim=~"${claims}"}`;
    rules.push(
      rule(
        'GraminstaVolumeNearlyFull',
        `kubelet_volume_stats_available_bytes${m} / kubelet_volume_stats_capacity_bytes${m} < ${t.volumeFreeRatio}`,
        '10m',
        'warning',
        `${app}: a volume has less than ${t.volumeFreeRatio * 100}% free`,
        '{{ $labels.persistentvolumeclaim }} is {{ $value | humanizePercentage }} free: raise its size in the spec (volumes grow in place where the StorageClass allows it).',
      ),
    );
  }
  return rules;
}

/** A regular expression matching the names of the app's volume claims (claim template + StatefulSet + ordinal); null when it has none. */
function volumeClaimPattern(plan: Plan): string | null {
  const sets: string[] = [];
  if (plan.database.placement !== 'external') sets.push(`data-${plan.names.database}`);
  if (plan.database.placement === 'in-cluster' && plan.database.readReplicas > 0) sets.push(`data-${plan.names.databaseReplica}`);
  if (plan.storage.kind === 'origin') sets.push(`images-${plan.names.origin}`);
  if (plan.cache) sets.push(`data-${redisStatefulSetName(plan.names, plan.cache.mode)}`);
  return sets.length === 0 ? null : `(${sets.join('|')})-[0-9]+`;
}

/** The app's PrometheusRule; null unless the app is monitored and the cluster serves the kind. */
export function renderPrometheusRule(plan: ResolvedPlan): PrometheusRule | null {
  if (!plan.monitoring || !plan.monitoringApi) return null;
  return {
    apiVersion: MONITORING_API_VERSION,
    kind: 'PrometheusRule',
    metadata: monitoringMeta(plan, plan.names.app, 'monitoring'),
    spec: { groups: [{ name: `graminsta.${plan.names.namespace}.${plan.names.app}`, rules: alertRules(plan) }] },
  };
}
