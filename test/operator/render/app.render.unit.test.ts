import { expect } from 'chai';
import type { V1Deployment, V1Job, V1Secret, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import { KIND_ORDER, type RenderedObject } from '../../../operator/render/app.render.js';
import { isGeneratedSecret } from '../../../operator/render/secrets.render.js';
import { app, ctx, render } from './helpers.js';

const ids = (objects: RenderedObject[]) => objects.map((o) => `${o.kind}/${o.metadata?.name}`);
const has = (objects: RenderedObject[], id: string) => ids(objects).includes(id);

function walk(value: unknown, visit: (key: string, v: unknown, path: string) => void, path = ''): void {
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      visit(k, v, `${path}.${k}`);
      walk(v, visit, `${path}.${k}`);
    }
  }
}

describe('app.render renderApp', () => {
  it('produces the six stages of DESIGN.md from the users presets', () => {
    const at = (users: number) => render(app({ users }), ctx());
    const s1 = at(1);
    expect(has(s1, 'StatefulSet/graminsta-db') && !has(s1, 'Deployment/graminsta-api')).to.equal(true);
    expect(ids(s1).filter((i) => i.startsWith('Service/') && !i.endsWith('-headless'))).to.deep.equal([
      'Service/graminsta-api',
    ]);
    const s2 = at(10);
    expect(has(s2, 'Deployment/graminsta-api') && has(s2, 'Service/graminsta-db-rw')).to.equal(true);
    expect(has(s2, 'Deployment/graminsta-web')).to.equal(false);
    const s3 = at(100);
    expect(has(s3, 'Deployment/graminsta-web') && has(s3, 'Service/graminsta-web')).to.equal(true);
    expect(has(s3, 'Ingress/graminsta')).to.equal(false);
    const s4 = at(1000);
    expect(has(s4, 'Ingress/graminsta') && has(s4, 'HorizontalPodAutoscaler/graminsta-api')).to.equal(true);
    const s5 = at(10000);
    expect(has(s5, 'StatefulSet/graminsta-origin')).to.equal(true);
    expect(has(s5, 'StatefulSet/graminsta-redis')).to.equal(false);
    const s6 = at(100000);
    for (const id of [
      'StatefulSet/graminsta-redis',
      'StatefulSet/graminsta-db-replica',
      'Service/graminsta-db-ro',
      'Service/graminsta-redis',
    ]) {
      expect(has(s6, id), id).to.equal(true);
    }
  });

  it('lets explicit fields win over the preset', () => {
    const objects = render(app({ users: 1000, api: { replicas: 4 } }), ctx());
    expect(has(objects, 'HorizontalPodAutoscaler/graminsta-api')).to.equal(false);
    const api = objects.find(
      (o) => o.kind === 'Deployment' && o.metadata?.name === 'graminsta-api',
    ) as V1Deployment;
    expect(api.spec?.replicas).to.equal(4);
    expect(
      has(
        render(app({ users: 100000, database: { readReplicas: 0 } }), ctx()),
        'StatefulSet/graminsta-db-replica',
      ),
    ).to.equal(false);
  });

  it('never sets spec.replicas on a Deployment that an HPA scales, and always sets it otherwise', () => {
    for (const users of [10, 100, 1000, 10000, 100000]) {
      const objects = render(app({ users }), ctx());
      const scaled = new Set(
        objects
          .filter((o): o is V2HorizontalPodAutoscaler => o.kind === 'HorizontalPodAutoscaler')
          .map((h) => h.spec!.scaleTargetRef.name),
      );
      for (const d of objects.filter((o): o is V1Deployment => o.kind === 'Deployment')) {
        expect(d.spec?.replicas === undefined, `${users}: ${d.metadata?.name}`).to.equal(
          scaled.has(d.metadata!.name!),
        );
      }
    }
  });

  it('is deterministic and sorted by kind then name', () => {
    const a = app({ users: 100000 });
    const first = render(a, ctx());
    expect(render(a, ctx())).to.deep.equal(first);
    const ranks = first.map((o) => KIND_ORDER.indexOf(o.kind as (typeof KIND_ORDER)[number]));
    expect(ranks.every((r) => r >= 0)).to.equal(true);
    for (let i = 1; i < first.length; i++) {
      const [p, c] = [first[i - 1]!, first[i]!];
      expect(
        ranks[i - 1]! < ranks[i]! || (ranks[i - 1] === ranks[i] && p.metadata!.name! < c.metadata!.name!),
      ).to.equal(true);
    }
    for (const o of first) {
      expect(o.apiVersion && o.kind && o.metadata?.name && o.metadata.namespace, ids([o])[0]).to.be.a(
        'string',
      );
      expect(o.metadata?.labels?.['app.kubernetes.io/managed-by']).to.equal('graminsta-operator');
    }
  });

  it('keeps existing generated passwords and generates only the missing ones', () => {
    const asked: string[] = [];
    const c = {
      ...ctx({
        'graminsta-db': { password: 'kept-1', 'replication-password': 'kept-2' },
        // Issued by the reconciler before it renders: never generated here.
        'graminsta-db-ca': { 'ca.crt': 'CA', 'ca.key': 'CA KEY' },
        'graminsta-db-tls': { 'tls.crt': 'CERT', 'tls.key': 'KEY', 'ca.crt': 'CA' },
      }),
      generatePassword: (name: string) => {
        asked.push(name);
        return `fresh:${name}`;
      },
    };
    const secrets = render(app({ users: 100000 }), c).filter((o): o is V1Secret => o.kind === 'Secret' && isGeneratedSecret(o));
    expect(secrets.map((s) => s.metadata?.name)).to.deep.equal(['graminsta-db', 'graminsta-origin', 'graminsta-redis', 'graminsta-token']);
    const db = secrets.find((s) => s.metadata?.name === 'graminsta-db')!;
    expect(db.stringData).to.deep.equal({ password: 'kept-1', 'replication-password': 'kept-2' });
    // Each missing password is generated exactly once per render, existing ones never.
    expect(asked.sort()).to.deep.equal([
      'graminsta-origin/token',
      'graminsta-redis/password',
      'graminsta-token/token-secret',
    ]);
  });

  it('never puts a secret value into a ConfigMap, an env literal or an annotation', () => {
    const objects = render(app({ users: 100000 }), ctx());
    const secretValues = objects
      .filter((o): o is V1Secret => o.kind === 'Secret')
      .flatMap((s) => Object.values(s.stringData ?? {}));
    expect(secretValues.length).to.be.greaterThan(3);
    for (const o of objects.filter((x) => x.kind !== 'Secret')) {
      walk(o, (_key, v, path) => {
        if (typeof v === 'string') {
          for (const secret of secretValues)
            expect(v.includes(secret), `${ids([o])[0]}${path}`).to.equal(false);
        }
      });
    }
  });

  it('never renders a literal env value for a variable that must come from a Secret', () => {
    const secretVars = /PASSWORD|TOKEN|SECRET|AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID|REDISCLI_AUTH/;
    for (const users of [1, 100000]) {
      for (const o of render(
        app({ users, cdn: { origin: { s3: { bucket: 'b', credentialsSecret: 's3' } } } }),
        ctx(),
      )) {
        walk(o, (key, v, path) => {
          if (key === 'env' && Array.isArray(v)) {
            for (const e of v as { name: string; value?: string }[]) {
              // A *_FILE entry holds the path of the mounted key, never the value.
              if (secretVars.test(e.name) && !e.name.endsWith('_FILE'))
                expect(e.value, `${ids([o])[0]}${path}.${e.name}`).to.equal(undefined);
            }
          }
          if (key === 'data' && o.kind === 'ConfigMap' && v && typeof v === 'object') {
            for (const name of Object.keys(v)) {
              if (!name.endsWith('.sh'))
                expect(secretVars.test(name), `${ids([o])[0]}${path}.${name}`).to.equal(false);
            }
          }
        });
      }
    }
  });

  it('passes the CDN base URL to the API and web, and S3 credentials from the named Secret', () => {
    const objects = render(
      app({
        users: 10000,
        cdn: {
          publicBaseURL: 'https://cdn.x.example',
          origin: { s3: { bucket: 'b', credentialsSecret: 's3' } },
        },
      }),
      ctx(),
    );
    const maps = Object.fromEntries(
      objects
        .filter((o) => o.kind === 'ConfigMap')
        .map((o) => [o.metadata!.name, (o as { data: Record<string, string> }).data]),
    );
    expect(maps['graminsta-api-config']!.GRAMINSTA_CDN_BASE_URL).to.equal('https://cdn.x.example');
    expect(maps['graminsta-web-config']!.GRAMINSTA_CDN_BASE_URL).to.equal('https://cdn.x.example');
    expect(maps['graminsta-api-config']!.GRAMINSTA_STORAGE).to.equal('s3');
    expect(has(objects, 'StatefulSet/graminsta-origin')).to.equal(false);
    const api = objects.find(
      (o) => o.kind === 'Deployment' && o.metadata?.name === 'graminsta-api',
    ) as V1Deployment;
    const env = api.spec!.template.spec!.containers[0]!.env!;
    expect(env.find((e) => e.name === 'AWS_SECRET_ACCESS_KEY_FILE')?.value).to.equal('/etc/graminsta/secrets/s3/AWS_SECRET_ACCESS_KEY');
    expect(api.spec!.template.spec!.volumes!.find((v) => v.secret?.secretName === 's3')?.secret?.items).to.deep.equal([
      { key: 'AWS_ACCESS_KEY_ID', path: 'AWS_ACCESS_KEY_ID' },
      { key: 'AWS_SECRET_ACCESS_KEY', path: 'AWS_SECRET_ACCESS_KEY' },
    ]);
  });
});

describe('Jobs', () => {
  it('every Job is deleted a day after it finished and fails after its deadline (migrate, Redis Cluster, photo moves)', async () => {
    const { JOB_DEADLINE_SECONDS, JOB_TTL_SECONDS } = await import('../../../operator/render/constants.render.js');
    const moving = { ...app({ users: 100000 }), status: { imageStore: { kind: 'volume' as const } } };
    const jobs = render(moving, ctx()).filter((o): o is V1Job => o.kind === 'Job');
    expect(jobs.map((j) => j.metadata!.name!.replace(/-[0-9a-f]{10}$/, '')).sort()).to.deep.equal([
      'graminsta-images-post',
      'graminsta-images-pre',
      'graminsta-migrate',
      'graminsta-redis-init',
    ]);
    for (const job of jobs) {
      const name = job.metadata!.name!;
      const deadline = name.includes('-images-') ? JOB_DEADLINE_SECONDS.imageMove : name.includes('-migrate-') ? JOB_DEADLINE_SECONDS.migrate : JOB_DEADLINE_SECONDS.redisInit;
      expect(job.spec, name).to.include({ ttlSecondsAfterFinished: JOB_TTL_SECONDS, activeDeadlineSeconds: deadline });
    }
    expect(JOB_TTL_SECONDS).to.equal(86_400);
    expect(JOB_DEADLINE_SECONDS.imageMove).to.be.greaterThan(JOB_DEADLINE_SECONDS.migrate);
  });
});
