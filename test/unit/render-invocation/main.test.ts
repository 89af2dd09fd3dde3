// The init container's entry point on the files the pod gets: the job's ConfigMap (as the
// reconciler builds it) written to a directory as the kubelet projects it, the rank in
// UCLOUD_RANK, the script written where the user container runs it from.
import { jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobResourceName } from '../../../src/api/v1alpha1/names.js';
import { API_VERSION, KIND, type UCloudJob } from '../../../src/api/v1alpha1/ucloudjob.js';
import { configMap } from '../../../src/controller/desired/rank-files.js';
import { TEMPLATE_KEY, VALUES_KEY } from '../../../src/render-invocation/layout.js';
import { main, rankFromEnv } from '../../../src/render-invocation/main.js';
import { jobToSpec } from '../../../src/translate/job-to-spec.js';
import { im2Output, jinjaConfig, jinjaJob } from '../../support/jinja-fixtures.js';

const config = jinjaConfig();
let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'render-invocation-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function cr(name: string): UCloudJob {
  const job = jinjaJob(name);
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: jobResourceName(job.id), namespace: config.namespace, uid: 'uid-1' },
    spec: jobToSpec(job, config),
  };
}

/** The ConfigMap's template and values, as files. */
function projected(job: UCloudJob): { template: string; values: string } {
  const data = configMap(job, config).data!;
  const template = join(dir, TEMPLATE_KEY);
  const values = join(dir, VALUES_KEY);
  writeFileSync(template, data[TEMPLATE_KEY]!);
  writeFileSync(values, data[VALUES_KEY]!);
  return { template, values };
}

describe('render-invocation main', () => {
  it.each([0, 1])("writes IM2's script for rank %i, executable", (rank) => {
    const files = projected(cr('v2-terminal'));
    const out = join(dir, 'job.sh');
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(main([files.template, files.values, out], { UCLOUD_RANK: String(rank) })).toBe(0);
    expect(stderr).not.toHaveBeenCalled();
    stderr.mockRestore();
    expect(readFileSync(out, 'utf8')).toBe(im2Output('v2-terminal', 2).scripts[rank]);
    expect(statSync(out).mode & 0o777).toBe(0o755);
  });

  it('fails (exit 1, a message) when its input is missing or not an object', () => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const out = join(dir, 'job.sh');
    expect(main([join(dir, 'nope.j2'), join(dir, 'nope.json'), out], {})).toBe(1);
    writeFileSync(join(dir, 't.j2'), 'x');
    writeFileSync(join(dir, 'v.json'), '[1]');
    expect(main([join(dir, 't.j2'), join(dir, 'v.json'), out], {})).toBe(1);
    expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toMatch(/cannot read the invocation/);
    stderr.mockRestore();
  });

  it('reads UCLOUD_RANK as strconv.ParseInt does', () => {
    expect(rankFromEnv('3')).toBe(3);
    expect(rankFromEnv('+2')).toBe(2);
    expect(rankFromEnv('')).toBeUndefined();
    expect(rankFromEnv('1.5')).toBeUndefined();
    expect(rankFromEnv(undefined)).toBeUndefined();
  });
});
