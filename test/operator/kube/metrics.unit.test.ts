import { expect } from 'chai';
import { Registry } from 'prom-client';
import { createMetrics } from '../../../operator/kube/metrics.kube.js';

describe('createMetrics', () => {
  it('exposes the controller-runtime and client-go metric names plus process metrics', async () => {
    const metrics = createMetrics(new Registry());
    metrics.reconcileTotal.inc({ controller: 'c', result: 'success' });
    metrics.restClientRequestsTotal.inc({ code: '200', method: 'GET', host: '127.0.0.1:6443' });
    metrics.leaderElectionMasterStatus.set({ name: 'graminsta' }, 1);
    const text = await metrics.registry.metrics();
    for (const name of [
      'controller_runtime_reconcile_total',
      'controller_runtime_reconcile_errors_total',
      'controller_runtime_terminal_reconcile_errors_total',
      'controller_runtime_reconcile_time_seconds',
      'controller_runtime_active_workers',
      'controller_runtime_max_concurrent_reconciles',
      'workqueue_depth',
      'workqueue_adds_total',
      'workqueue_retries_total',
      'workqueue_queue_duration_seconds',
      'workqueue_work_duration_seconds',
      'workqueue_unfinished_work_seconds',
      'workqueue_longest_running_processor_seconds',
      'rest_client_requests_total',
      'rest_client_request_duration_seconds',
      'leader_election_master_status',
      'process_cpu_seconds_total',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(text, name).to.include(`# TYPE ${name} `);
    }
    expect(text).to.include('controller_runtime_reconcile_total{controller="c",result="success"} 1');
    expect(text).to.include('rest_client_requests_total{code="200",method="GET",host="127.0.0.1:6443"} 1');
  });

  it('can be created twice on separate registries', () => {
    expect(() => {
      createMetrics();
      createMetrics();
    }).to.not.throw();
  });
});
