// Shared fixtures of the render unit tests: an app builder and a deterministic render context.
import type { GraminstaApp, GraminstaAppSpec } from '../../../operator/api/types.gen.js';
import type { RenderContext } from '../../../operator/render/context.render.js';

/** A GraminstaApp named graminsta in namespace photos with the given spec. */
export function app(spec: GraminstaAppSpec = {}, name = 'graminsta'): GraminstaApp {
  return {
    apiVersion: 'graminsta.io/v1alpha1',
    kind: 'GraminstaApp',
    metadata: { name, namespace: 'photos' },
    spec,
  };
}

/** A render context whose passwords are predictable (`pw:<secret>/<key>`) and with the given existing Secrets. */
export function ctx(existingSecrets: RenderContext['existingSecrets'] = {}): RenderContext {
  return {
    defaultImage: 'registry.example/graminsta:test',
    existingSecrets,
    generatePassword: (name) => `pw:${name}`,
  };
}
