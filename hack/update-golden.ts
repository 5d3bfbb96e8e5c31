// Rewrites test/operator/render/golden/<example>.yaml from every examples/*.yaml, and the stage pictures in
// docs/diagrams/: `npx tsx hack/update-golden.ts` (npm run golden).
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DEFAULT_IMAGES } from '../operator/api/images.api.js';
import { renderManifests } from '../operator/render/manifests.render.js';
import { DIAGRAMS_DIR, stageDiagrams } from './diagrams.js';

const EXAMPLES = 'examples';
const GOLDEN = 'test/operator/render/golden';

const files = (await readdir(EXAMPLES)).filter((f) => f.endsWith('.yaml')).sort();
await mkdir(GOLDEN, { recursive: true });
for (const file of files) {
  const source = join(EXAMPLES, file);
  const text = await readFile(source, 'utf8');
  const out = renderManifests(text, source, { images: DEFAULT_IMAGES, namespace: 'default' });
  await writeFile(join(GOLDEN, basename(file)), out);
  console.log(`wrote ${join(GOLDEN, basename(file))} (${out.split('\n---\n').length} objects)`);
}
await mkdir(DIAGRAMS_DIR, { recursive: true });
for (const { path, content } of stageDiagrams()) {
  await writeFile(path, content);
  console.log(`wrote ${path}`);
}
