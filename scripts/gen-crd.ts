// Writes crds/ucloudjobs.ucloud.dk.yaml from the zod schema (npm run gen:crd). A unit test fails
// when the committed file differs from what this produces.
import { writeFileSync } from 'node:fs';
import { CRD_PATH, renderCrdYaml } from '../src/api/v1alpha1/crd.js';

writeFileSync(CRD_PATH, renderCrdYaml());
process.stdout.write(`wrote ${CRD_PATH}\n`);
