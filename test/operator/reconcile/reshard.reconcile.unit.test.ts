import { expect } from 'chai';
import type { KubernetesObject, V1StatefulSet } from '@kubernetes/client-node';
import { holdRedisShrink } from '../../../operator/reconcile/reshard.reconcile.js';
import { AFTER_JOB_ANNOTATION } from '../../../operator/render/names.render.js';

const sts = (name: string, replicas: number): V1StatefulSet => ({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name }, spec: { replicas } as V1StatefulSet['spec'] });

describe('holdRedisShrink', () => {
  const job = 'g-redis-init-abc';
  const desired: KubernetesObject[] = [sts('g-redis', 6), sts('g-db', 1), { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: job } }];
  const gate = (objs: KubernetesObject[], name: string) => objs.find((o) => o.metadata?.name === name)?.metadata?.annotations?.[AFTER_JOB_ANNOTATION];

  it('holds the Redis StatefulSet back until the form Job succeeded when it would lose nodes', () => {
    const out = holdRedisShrink(desired, 'g-redis', job, sts('g-redis', 12));
    expect(gate(out, 'g-redis')).to.equal(job);
    expect(gate(out, 'g-db')).to.equal(undefined);
    expect((out[0] as V1StatefulSet).spec?.replicas, 'the replicas wanted are applied once the Job is done').to.equal(6);
  });

  it('applies it at once when it grows, keeps its size, does not exist yet, or there is no form Job', () => {
    expect(gate(holdRedisShrink(desired, 'g-redis', job, sts('g-redis', 3)), 'g-redis')).to.equal(undefined);
    expect(gate(holdRedisShrink(desired, 'g-redis', job, sts('g-redis', 6)), 'g-redis')).to.equal(undefined);
    expect(gate(holdRedisShrink(desired, 'g-redis', job, undefined), 'g-redis')).to.equal(undefined);
    expect(gate(holdRedisShrink(desired, 'g-redis', null, sts('g-redis', 12)), 'g-redis')).to.equal(undefined);
  });
});
