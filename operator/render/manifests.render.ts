// Offline rendering of GraminstaApp manifests to a YAML stream, with generated passwords as placeholders.
import { parseAllDocuments, stringify } from 'yaml';
import type { ImageSettings } from '../api/images.api.js';
import { GROUP, KIND, specSchema, VERSION } from '../api/schema.api.js';
import type { GraminstaApp } from '../api/types.gen.js';
import { renderApp, type RenderedObject } from './app.render.js';
import type { RenderContext } from './context.render.js';
import { planOf } from './plan.render.js';
import { schemaProblems } from './validate.render.js';

/** What generated passwords look like in offline output: never a real secret. */
export const GENERATED_PLACEHOLDER = '<generated>';

/** Options of offline rendering. */
export interface ManifestOptions {
  /** The operator's image settings: what apps run when their spec names no image. */
  images: ImageSettings;
  /** Namespace used when the manifest has none (like kubectl's current namespace). */
  namespace: string;
}

/** The GraminstaApps of a YAML stream, checked; throws an Error naming the document and field of every problem. */
export function parseApps(text: string, source: string, namespace: string): GraminstaApp[] {
  const docs = parseAllDocuments(text);
  const apps: GraminstaApp[] = [];
  const problems: string[] = [];
  docs.forEach((doc, i) => {
    const where = `${source}: document ${i + 1}`;
    if (doc.errors.length > 0) {
      problems.push(...doc.errors.map((e) => `${where}: ${e.message}`));
      return;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value)) {
      problems.push(`${where}: must be a ${KIND} object`);
      return;
    }
    const obj = value as Record<string, unknown>;
    if (obj.apiVersion !== `${GROUP}/${VERSION}`) {
      problems.push(
        `${where}: apiVersion must be ${GROUP}/${VERSION}, got ${JSON.stringify(obj.apiVersion)}`,
      );
    }
    if (obj.kind !== KIND) problems.push(`${where}: kind must be ${KIND}, got ${JSON.stringify(obj.kind)}`);
    const meta = (obj.metadata ?? {}) as Record<string, unknown>;
    if (typeof meta.name !== 'string' || meta.name === '') problems.push(`${where}: metadata.name: required`);
    problems.push(...schemaProblems(obj.spec ?? {}, specSchema, 'spec').map((p) => `${where}: ${p}`));
    apps.push({
      ...(obj as unknown as GraminstaApp),
      metadata: { ...meta, namespace: typeof meta.namespace === 'string' ? meta.namespace : namespace },
    });
  });
  if (problems.length > 0) throw new Error(problems.join('\n'));
  if (apps.length === 0) throw new Error(`${source}: no ${KIND} found`);
  return apps;
}

/**
 * A render context for offline output: no existing Secrets, every password the placeholder, and the
 * Prometheus Operator's and Gateway API's kinds assumed served (a monitored app's PodMonitors and rule, an app's HTTPRoutes are part of its manifests).
 */
export function placeholderContext(): RenderContext {
  return { existingSecrets: {}, generatePassword: () => GENERATED_PLACEHOLDER, monitoringApi: true, gatewayApi: true };
}

/** The objects of every app of a YAML stream, rendered offline. */
export function renderManifestObjects(text: string, source: string, opts: ManifestOptions): RenderedObject[] {
  const apps = parseApps(text, source, opts.namespace);
  return apps.flatMap((app) => {
    try {
      return renderApp(planOf(app, opts.images), placeholderContext());
    } catch (cause) {
      throw new Error(`${source}: ${app.metadata.name}: ${(cause as Error).message}`, { cause });
    }
  });
}

/** The rendered objects of a YAML stream as a YAML stream ("---" separated, stable output). */
export function renderManifests(text: string, source: string, opts: ManifestOptions): string {
  return renderManifestObjects(text, source, opts)
    .map((o) => `---\n${stringify(o, { aliasDuplicateObjects: false, lineWidth: 0 })}`)
    .join('');
}
