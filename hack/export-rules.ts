// Writes Prometheus rule files for `promtool check rules` into a directory: the alerts the operator renders for
// every example and every query of the chart's dashboard as recording rules (Grafana's variables filled in), one
// group per file (the examples share alert names, which --lint=all reports as duplicates within a file).
// Used by hack/check-rules.sh; `npx tsx hack/export-rules.ts <dir>`.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { DEFAULT_IMAGES } from '../operator/api/images.api.js';
import type { GraminstaApp } from '../operator/api/types.gen.js';
import { alertRules } from '../operator/render/alerts.render.js';
import { planOf } from '../operator/render/plan.render.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = process.argv[2];
if (!out) throw new Error('usage: export-rules.ts <dir>');

const groups: { name: string; rules: object[] }[] = [];
for (const file of readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.yaml')).sort()) {
  const app = parse(readFileSync(join(root, 'examples', file), 'utf8')) as GraminstaApp;
  app.metadata = { ...app.metadata, namespace: 'photos' };
  groups.push({ name: file, rules: alertRules(planOf(app, DEFAULT_IMAGES)) });
}
const dashboard = JSON.parse(readFileSync(join(root, 'charts', 'graminsta-operator', 'dashboards', 'graminsta.json'), 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
const vars: Record<string, string> = { __rate_interval: '2m', namespace: 'photos', app: 'graminsta' };
groups.push({
  name: 'dashboard',
  rules: dashboard.panels.flatMap((p, i) =>
    (p.targets ?? []).map((t, j) => ({
      record: `dashboard:panel${i}:query${j}`,
      expr: t.expr.replace(/\$(\w+)/g, (_, v: string) => {
        if (!(v in vars)) throw new Error(`unknown dashboard variable $${v}`);
        return vars[v]!;
      }),
    })),
  ),
});
groups.forEach((g, i) => writeFileSync(join(out, `group-${i}.yaml`), stringify({ groups: [g] }, { lineWidth: 0 })));
console.log(`wrote ${out}: ${groups.map((g) => `${g.name} ${g.rules.length}`).join(', ')}`);
