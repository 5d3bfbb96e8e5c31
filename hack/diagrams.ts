// The pictures of the stages in docs/diagrams/: `graminsta diagram` of every examples/stage-*.yaml, as SVG and Mermaid.
// `npm run golden` writes them; test/operator/diagram/docs.diagram.unit.test.ts fails when they are stale.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DEFAULT_IMAGES } from '../operator/api/images.api.js';
import { toMermaid } from '../operator/diagram/mermaid.diagram.js';
import { toSvg } from '../operator/diagram/svg.diagram.js';
import { appTopology } from '../operator/diagram/topology.diagram.js';
import { parseApps } from '../operator/render/manifests.render.js';

/** Where the stage pictures live. */
export const DIAGRAMS_DIR = 'docs/diagrams';

/** Every stage picture: its path and content, drawn from the example with the operator's default images. */
export function stageDiagrams(root = '.'): { path: string; content: string }[] {
  const examples = readdirSync(join(root, 'examples')).filter((f) => /^stage-.*\.yaml$/.test(f)).sort();
  return examples.flatMap((file) => {
    const [app] = parseApps(readFileSync(join(root, 'examples', file), 'utf8'), file, 'default');
    const topology = appTopology(app!, DEFAULT_IMAGES);
    const stem = join(DIAGRAMS_DIR, basename(file, '.yaml'));
    return [
      { path: `${stem}.svg`, content: toSvg(topology) },
      { path: `${stem}.mmd`, content: toMermaid(topology) },
    ];
  });
}
