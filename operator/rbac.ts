// The RBAC rules the operator needs, computed from the kinds it owns and the requests its reconciler,
// informers, event recorder and leader election make; the Helm chart's roles are generated from here.
import type { KubernetesObject } from '@kubernetes/client-node';
import { APP_RESOURCE } from './controller.js';
import { allChildKinds, type ChildKind } from './reconcile/children.reconcile.js';
import { isGeneratedSecret } from './render/secrets.render.js';

/** One rbac.authorization.k8s.io/v1 PolicyRule, with the reason it is needed. */
export interface RbacRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
  /** Which code path makes these requests (rendered as a comment in the chart). */
  why: string;
}

/** The kinds the reconciler writes: server-side applied (patch) or created once (generated Secrets). */
export interface ChildWrites {
  applied: string[];
  created: string[];
}

/** The operator's rules: cluster-wide (apps and their children in every watched namespace) and in its own namespace (the Lease). */
export interface OperatorRbac {
  cluster: RbacRule[];
  leaderElection: RbacRule[];
}

/** Which kinds a set of rendered objects makes the reconciler apply and create, sorted. */
export function childWritesOf(rendered: Iterable<KubernetesObject>): ChildWrites {
  const applied = new Set<string>();
  const created = new Set<string>();
  for (const obj of rendered) {
    if (!obj.kind) throw new Error('childWritesOf: a rendered object has no kind');
    (isGeneratedSecret(obj) ? created : applied).add(obj.kind);
  }
  return { applied: [...applied].sort(), created: [...created].sort() };
}

const VERB_ORDER = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

function sortVerbs(verbs: Iterable<string>): string[] {
  return [...new Set(verbs)].sort((a, b) => VERB_ORDER.indexOf(a) - VERB_ORDER.indexOf(b));
}

/**
 * The exact rules the operator uses. Every owned kind is listed and watched (one informer each) and
 * deleted when pruned (prune covers every watched kind); applied kinds are patched, which needs create
 * too when the apply creates the object; created kinds are
 * created and read uncached before generating; Secrets are also read for spec.database.external.
 */
export function operatorRbac(writes: ChildWrites, opts: { kinds?: readonly ChildKind[]; leaseName: string }): OperatorRbac {
  const kinds = opts.kinds ?? allChildKinds;
  const known = new Set(kinds.map((k) => k.kind));
  for (const kind of [...writes.applied, ...writes.created]) {
    if (!known.has(kind)) throw new Error(`operatorRbac: ${kind} is written but is not one of the owned kinds, so it would never be watched or pruned`);
  }
  const children: RbacRule[] = [...kinds]
    .sort((a, b) => a.group.localeCompare(b.group) || a.plural.localeCompare(b.plural))
    .map((k) => {
      const verbs = ['list', 'watch', 'delete'];
      const why = ['informer (list, watch)', 'prune (delete)'];
      if (writes.applied.includes(k.kind)) {
        verbs.push('get', 'patch', 'create');
        why.push('server-side apply (patch, and create when the object does not exist yet; get first, so an object the app did not create is never adopted)');
      }
      if (writes.created.includes(k.kind)) {
        verbs.push('create', 'get');
        why.push('generated once (create; get after 409 AlreadyExists)');
      }
      if (k.kind === 'Secret') {
        verbs.push('get');
        if (!why.some((w) => w.includes('get'))) why.push('uncached read (get)');
        why.push('spec.database.external.secretName (get)');
      }
      return { apiGroups: [k.group], resources: [k.plural], verbs: sortVerbs(verbs), why: `${k.kind}: ${why.join('; ')}` };
    });
  return {
    cluster: [
      { apiGroups: [APP_RESOURCE.group], resources: [APP_RESOURCE.plural], verbs: ['list', 'watch'], why: 'GraminstaApp informer' },
      { apiGroups: [APP_RESOURCE.group], resources: [`${APP_RESOURCE.plural}/status`], verbs: ['patch'], why: 'status writes (merge patch)' },
      { apiGroups: [''], resources: ['events'], verbs: ['create'], why: 'Events on apps' },
      {
        apiGroups: [''],
        resources: ['pods'],
        verbs: ['list', 'watch', 'delete'],
        why: 'Pod informer: containers that cannot start, reported on the tier conditions; delete a StatefulSet pod stuck on an older template',
      },
      {
        apiGroups: [''],
        resources: ['persistentvolumeclaims'],
        verbs: ['list', 'watch', 'patch'],
        why: 'volumes grow with the spec: PersistentVolumeClaim informer (list, watch; the claims of the StatefulSets, by their selector labels), raise their storage request (patch)',
      },
      {
        apiGroups: ['storage.k8s.io'],
        resources: ['storageclasses'],
        verbs: ['get'],
        why: 'volumes grow with the spec: only where the StorageClass allows volume expansion',
      },
      ...children,
    ],
    leaderElection: [
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'], why: 'leader election: first candidate creates the Lease' },
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        verbs: ['get', 'update'],
        resourceNames: [opts.leaseName],
        why: 'leader election: read, renew, take over and release the Lease',
      },
    ],
  };
}

/** Expands rules into "group/resource verb" strings (core group written as "core"), sorted, for comparing with observed requests. */
export function permissionsOf(rules: readonly RbacRule[]): string[] {
  const out = new Set<string>();
  for (const r of rules) for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) out.add(`${g || 'core'}/${res} ${v}`);
  return [...out].sort();
}
