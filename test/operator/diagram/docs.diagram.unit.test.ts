import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIAGRAMS_DIR, stageDiagrams } from '../../../hack/diagrams.js';

describe('the stage pictures in docs/diagrams/', () => {
  const wanted = stageDiagrams();

  it('are exactly the pictures of the stage examples, six of each format', () => {
    expect(wanted.filter((d) => d.path.endsWith('.svg'))).to.have.length(6);
    expect(readdirSync(DIAGRAMS_DIR).sort()).to.deep.equal(wanted.map((d) => d.path.slice(DIAGRAMS_DIR.length + 1)).sort());
  });

  for (const { path, content } of wanted) {
    it(`${path} is what graminsta diagram draws now (else run npm run golden)`, () => {
      expect(readFileSync(path, 'utf8') === content, `${path} is stale: run npm run golden`).to.equal(true);
    });
  }

  it('are all shown in the README', () => {
    const readme = readFileSync('README.md', 'utf8');
    for (const { path } of wanted.filter((d) => d.path.endsWith('.svg'))) expect(readme).to.include(`(${path})`);
  });

  it('name the stage each example is at', () => {
    const svgs = wanted.filter((d) => d.path.endsWith('.svg'));
    const stages = ['single-machine', 'split-database', 'split-clients', 'load-balanced', 'cdn', 'data-layer'];
    svgs.forEach((d, i) => expect(d.content, join(d.path)).to.include(`stage ${stages[i]}</title>`));
  });
});
