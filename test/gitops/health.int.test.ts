import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
const script = root + 'gitops/argocd/health.lua';
const LUA = process.env.LUA ?? 'lua5.4';

/** A JSON value as a Lua table constructor, the way Argo CD hands `obj` to the script. */
function toLua(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{${value.map(toLua).join(', ')}}`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `[${JSON.stringify(k)}] = ${toLua(v)}`)
    .join(', ')}}`;
}

/** Runs health.lua under the real Lua interpreter with obj set, as Argo CD does. */
function health(obj: unknown): { status: string; message: string } {
  const driver = [
    `obj = ${toLua(obj)}`,
    `local hs = assert(loadfile(${JSON.stringify(script)}))()`,
    'io.write(hs.status, "\\n", hs.message)',
  ].join('\n');
  const out = spawnSync(LUA, ['-'], { input: driver, encoding: 'utf8' });
  if (out.error) throw new Error(`running ${LUA}`, { cause: out.error });
  if (out.status !== 0) throw new Error(`${LUA} exited ${out.status}: ${out.stderr}`);
  const [status = '', ...rest] = out.stdout.split('\n');
  return { status, message: rest.join('\n') };
}

const meta = { name: 'graminsta', namespace: 'photos', generation: 3 };
const cond = (type: string, status: string, reason: string, message = '') => ({ type, status, reason, message, lastTransitionTime: '2024-01-01T00:00:00Z', observedGeneration: 3 });
const app = (status?: unknown, spec: Record<string, unknown> = { users: 100 }) => ({ apiVersion: 'graminsta.io/v1alpha1', kind: 'GraminstaApp', metadata: meta, spec, ...(status ? { status } : {}) });

describe('Argo CD health check (gitops/argocd/health.lua under lua5.4)', () => {
  it('is Progressing before the operator wrote any status', () => {
    expect(health(app())).to.deep.equal({ status: 'Progressing', message: 'Waiting for the operator to reconcile the app' });
  });

  it('is Progressing while the tiers roll out, with the Ready message', () => {
    const hs = health(
      app({
        observedGeneration: 3,
        stage: 'split-clients',
        conditions: [
          cond('Ready', 'False', 'TiersNotReady', 'api: 1/2 pods of graminsta-api are ready'),
          cond('Reconciling', 'True', 'Progressing', 'rolling out stage split-clients: waiting for api'),
          cond('Stalled', 'False', 'AsExpected', 'no problem needs attention'),
        ],
      }),
    );
    expect(hs).to.deep.equal({ status: 'Progressing', message: 'TiersNotReady: api: 1/2 pods of graminsta-api are ready' });
  });

  it('is Healthy when Ready is True for the current generation', () => {
    const hs = health(
      app({
        observedGeneration: 3,
        conditions: [cond('Ready', 'True', 'AllTiersReady', 'all tiers of stage data-layer are ready'), cond('Stalled', 'False', 'AsExpected', 'no problem needs attention')],
      }),
    );
    expect(hs).to.deep.equal({ status: 'Healthy', message: 'AllTiersReady: all tiers of stage data-layer are ready' });
  });

  it('is Progressing while Reconciling is True, even if Ready is True (a change is still being applied)', () => {
    const hs = health(
      app({
        observedGeneration: 3,
        conditions: [cond('Ready', 'True', 'AllTiersReady', 'all tiers of stage cdn are ready'), cond('Reconciling', 'True', 'Progressing', 'rolling out stage cdn: switching traffic')],
      }),
    );
    expect(hs).to.deep.equal({ status: 'Progressing', message: 'Progressing: rolling out stage cdn: switching traffic' });
  });

  it('is Degraded when Stalled is True, even if Ready was True', () => {
    const hs = health(
      app({
        observedGeneration: 3,
        conditions: [
          cond('Ready', 'True', 'AllTiersReady'),
          cond('Stalled', 'True', 'ExternalDatabaseSecretNotFound', 'spec.database.external.secretName: Secret photos/rds does not exist'),
        ],
      }),
    );
    expect(hs).to.deep.equal({ status: 'Degraded', message: 'ExternalDatabaseSecretNotFound: spec.database.external.secretName: Secret photos/rds does not exist' });
  });

  it('is Suspended when spec.paused is true, whatever the status says', () => {
    const hs = health(app({ observedGeneration: 3, conditions: [cond('Stalled', 'True', 'InvalidSpec', 'boom')] }, { paused: true }));
    expect(hs.status).to.equal('Suspended');
    expect(hs.message).to.match(/spec\.paused/);
  });

  it('is Progressing when the status is for an older generation, even if it says Ready', () => {
    const hs = health(app({ observedGeneration: 2, conditions: [cond('Ready', 'True', 'AllTiersReady')] }));
    expect(hs).to.deep.equal({ status: 'Progressing', message: 'Waiting for the operator to observe generation 3 (status is for 2)' });
    expect(health(app({ conditions: [cond('Ready', 'True', 'AllTiersReady')] })).message).to.equal('Waiting for the operator to observe generation 3 (status is for none)');
  });

  it('survives conditions without reason or message and a status without conditions', () => {
    expect(health(app({ observedGeneration: 3, conditions: [{ type: 'Ready', status: 'False' }] }))).to.deep.equal({ status: 'Progressing', message: 'Ready' });
    expect(health(app({ observedGeneration: 3 })).status).to.equal('Progressing');
  });

  it('is the script embedded in the argocd-cm patch', () => {
    const patch = parse(readFileSync(root + 'gitops/argocd/argocd-cm.patch.yaml', 'utf8')) as { data: Record<string, string> };
    expect(patch.data['resource.customizations.health.graminsta.io_GraminstaApp']).to.equal(readFileSync(script, 'utf8'));
  });
});
