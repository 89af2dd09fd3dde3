// Writes crds/ucloudjobs.ucloud.dk.yaml from the zod schema (npm run gen:crd), and the Helm chart's
// copy of it (charts/ucloud-operator/files/crds: Helm cannot read files outside the chart). A unit
// test fails when the committed file differs from what this produces, a chart test when the copy does.
import { writeFileSync } from 'node:fs';
import { CRD_PATH, renderCrdYaml } from '../src/api/v1alpha1/crd.js';

const CHART_COPY = 'charts/ucloud-operator/files/crds/ucloudjobs.ucloud.dk.yaml';
const yaml = renderCrdYaml();
for (const path of [CRD_PATH, CHART_COPY]) {
  writeFileSync(path, yaml);
  process.stdout.write(`wrote ${path}\n`);
}
