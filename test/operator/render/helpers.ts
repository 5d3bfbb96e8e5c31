// Shared fixtures of the render unit tests: an app builder, image settings and a deterministic render context.
import { DEFAULT_IMAGES, type ImageSettings } from '../../../operator/api/images.api.js';
import type { GraminstaApp, GraminstaAppSpec } from '../../../operator/api/types.gen.js';
import { renderApp, type RenderedObject } from '../../../operator/render/app.render.js';
import type { RenderContext } from '../../../operator/render/context.render.js';
import { planOf, type Plan, type ResolvedPlan } from '../../../operator/render/plan.render.js';
import { resolvePlan } from '../../../operator/render/resolve.render.js';

/** A GraminstaApp named graminsta in namespace photos with the given spec. */
export function app(spec: GraminstaAppSpec = {}, name = 'graminsta'): GraminstaApp {
  return {
    apiVersion: 'graminsta.io/v1alpha1',
    kind: 'GraminstaApp',
    metadata: { name, namespace: 'photos' },
    spec,
  };
}

/** The image settings of the tests: a recognisable service image, the default Postgres and Redis images. */
export const IMAGES: ImageSettings = { ...DEFAULT_IMAGES, service: 'registry.example/graminsta:test' };

/** A render context whose passwords are predictable (`pw:<secret>/<key>`) and with the given existing Secrets. */
export function ctx(existingSecrets: RenderContext['existingSecrets'] = {}): RenderContext {
  return { existingSecrets, generatePassword: (name) => `pw:${name}` };
}

/** The plan of an app under the test settings. */
export function plan(a: GraminstaApp, images: ImageSettings = IMAGES): Plan {
  return planOf(a, images);
}

/** The plan of an app resolved with a render context (the input of the builders that need hashes). */
export function resolved(a: GraminstaApp, c: RenderContext = ctx(), images: ImageSettings = IMAGES): ResolvedPlan {
  return resolvePlan(planOf(a, images), c);
}

/** Every object of an app, as the operator renders it under the test settings. */
export function render(a: GraminstaApp, c: RenderContext = ctx(), images: ImageSettings = IMAGES): RenderedObject[] {
  return renderApp(planOf(a, images), c);
}
