// core2's job shape, from the fixtures built with UCloud's own Go types (test/fixtures/README.md):
// every value carries every field of AppParameterValue, applications every field of
// ApplicationInvocationDescription, and v2 applications a single jinja invocation part.
import { CreateBulkSchema, parseBody } from '../../../src/adapter/schemas.js';
import { jobToSpec } from '../../../src/translate/job-to-spec.js';
import type { Job } from '../../../src/ucloud/job.js';
import { unitConfig } from '../../support/config.js';
import { CORE2_LEGACY, CORE2_V2, fixtureJob, fixtureJson } from '../../support/fixtures.js';

const config = unitConfig();

describe.each([CORE2_LEGACY, CORE2_V2])('%s', (name) => {
  it('is accepted whole by the create schema', () => {
    expect(() => parseBody(CreateBulkSchema, fixtureJson(name))).not.toThrow();
  });

  it('carries what core2 adds to every job: ucMetricSampleRate and the category accountingFrequency', () => {
    const raw = fixtureJson(name).items[0] as { specification: { parameters: Record<string, { type: string; value: unknown }> } };
    expect(raw.specification.parameters.ucMetricSampleRate).toMatchObject({ type: 'text', value: '0ms' });
    expect(fixtureJob(name).status?.resolvedProduct?.category.accountingFrequency).toBe('PERIODIC_MINUTE');
  });
});

describe('the legacy application job', () => {
  const job = (): Job => fixtureJob(CORE2_LEGACY);

  it('translates to the command IM2 renders, ignoring ucMetricSampleRate', () => {
    const spec = jobToSpec(job(), config);
    expect(spec.command).toEqual(['echo', 'Hello, core2!', '--count', '5', '--mode', 'thorough', '--ratio', '0.5', '--verbose']);
    expect(spec.env).toEqual([{ name: 'GREETING', value: 'Hello, core2!' }]);
    expect(spec.workingDir).toBe('/work');
    expect(spec.product).toMatchObject({ id: 'example-compute-1', cpu: 1, memoryInGigs: 2, accountingFrequency: 'PERIODIC_MINUTE' });
  });

  it('an application that declares ucMetricSampleRate gets its value', () => {
    const j = job();
    const app = j.status!.resolvedApplication!.invocation;
    app.parameters.push({ type: 'text', name: 'ucMetricSampleRate', optional: true });
    app.invocation.push({ type: 'var', variableNames: ['ucMetricSampleRate'], prefixGlobal: '--sample' });
    expect(jobToSpec(j, config).command.slice(-2)).toEqual(['--sample', '0ms']);
  });

  it('runs an application that may run as root (core2 sets runAsRoot for every app) as non-root unless the site allows root', () => {
    expect(job().status!.resolvedApplication!.invocation.container?.runAsRoot).toBe(true);
    expect(jobToSpec(job(), config).runAsRoot).toBe(false);
    expect(jobToSpec(job(), unitConfig({ jobs: { allowRunAsRoot: true } })).runAsRoot).toBe(true);
  });
});

describe('the v2 (jinja) application job', () => {
  it('is translated, carrying its template to the UCloudJob', () => {
    const spec = jobToSpec(fixtureJob(CORE2_V2), config);
    expect(spec.invocationTemplate?.template).toContain('{% for i in range(count) %}');
    expect(spec.product.accountingFrequency).toBe('PERIODIC_MINUTE');
  });
});

describe('core2 values and application fields', () => {
  const withStorage = unitConfig({ jobs: { sharedStorage: { claimName: 'ucloud-storage' } } });
  const legacy = (f: (j: Job) => void): Job => {
    const j = structuredClone(fixtureJob(CORE2_LEGACY));
    f(j);
    return j;
  };
  const app = (j: Job) => j.status!.resolvedApplication!.invocation;
  // Go's zero-valued AppParameterValue fields, as core2 sends them with every value.
  const goFile = (path: string, mountPath = '') =>
    parseBody(CreateBulkSchema, {
      items: [
        {
          ...fixtureJson(CORE2_LEGACY).items[0],
          specification: {
            ...(fixtureJson(CORE2_LEGACY).items[0]!.specification as object),
            resources: [
              {
                type: 'file',
                path,
                mountPath,
                readOnly: false,
                value: null,
                hostname: '',
                jobId: '',
                id: '',
                modules: null,
                port: 0,
                tls: false,
                server: '',
                token: '',
                tokenType: '',
              },
            ],
          },
        },
      ],
    }).items[0]!.specification.resources![0]!;

  it.each([
    ['web section with port 0 (legacy YAML without a port)', { applicationType: 'WEB', web: { port: 0 } }, { webPort: 80 }],
    ['VNC section with port 0 (v2 YAML without a port)', { applicationType: 'VNC', vnc: { password: '', port: 0 } }, { vncPort: 5900 }],
    ['applicationType WEB without a web section', { applicationType: 'WEB', web: null }, { webPort: 80 }],
    ['a web port', { applicationType: 'WEB', web: { port: 7681 } }, { webPort: 7681 }],
  ])('%s', (_name, fields, ports) => {
    const spec = jobToSpec(
      legacy((j) => Object.assign(app(j), fields)),
      config,
    );
    expect({ webPort: spec.webPort, vncPort: spec.vncPort }).toEqual({ webPort: undefined, vncPort: undefined, ...ports });
  });

  it('an ssh section with an empty mode is DISABLED, not an error', () => {
    const body = fixtureJson(CORE2_LEGACY);
    (body.items[0] as { status: { resolvedApplication: { invocation: Record<string, unknown> } } }).status.resolvedApplication.invocation.ssh = { mode: '' };
    expect(() => parseBody(CreateBulkSchema, body)).not.toThrow();
  });

  it('null invocation and parameter lists (Go nil slices) are empty lists', () => {
    const body = fixtureJson(CORE2_LEGACY);
    const inv = (body.items[0] as { status: { resolvedApplication: { invocation: Record<string, unknown> } } }).status.resolvedApplication.invocation;
    inv.parameters = null;
    const parsed = parseBody(CreateBulkSchema, body).items[0]!;
    expect(parsed.status!.resolvedApplication!.invocation.parameters).toEqual([]);
  });

  it('a file value with every Go field and an empty mountPath mounts under /work', () => {
    const spec = jobToSpec(
      legacy((j) => (j.specification.resources = [goFile('/123/data/')])),
      withStorage,
    );
    expect(spec.mounts).toEqual([{ name: 'file-0', ucloudPath: '/123/data/', subPath: '123/data', mountPath: '/work/data', readOnly: false }]);
  });

  it('honours an explicit mountPath, also in the rendered command', () => {
    const spec = jobToSpec(
      legacy((j) => {
        app(j).parameters.push({ type: 'input_directory', name: 'input', optional: false });
        app(j).invocation.push({ type: 'var', variableNames: ['input'] });
        j.specification.parameters!.input = { type: 'file', path: '/123/data', mountPath: ' /mnt/input ', readOnly: true };
      }),
      withStorage,
    );
    expect(spec.mounts).toEqual([{ name: 'file-0', ucloudPath: '/123/data', subPath: '123/data', mountPath: '/mnt/input', readOnly: true }]);
    expect(spec.command.at(-1)).toBe('/mnt/input');
  });

  it.each([
    ['a relative path', 'mnt/x'],
    ['a ".." segment', '/mnt/../etc'],
    ['a "." segment', '/mnt/./x'],
    ['an empty segment', '/mnt//x'],
    ['the root', '/'],
    ['/work', '/work'],
    ['below /work', '/work/x'],
    ['/etc/ucloud', '/etc/ucloud'],
    ['below /opt/ucloud', '/opt/ucloud/bin'],
    ['/proc', '/proc'],
    ['a control character', '/mnt/\u0001'],
  ])('refuses an explicit mountPath with %s', (_name, mountPath) => {
    const job = legacy((j) => (j.specification.resources = [{ type: 'file', path: '/123/data', mountPath }]));
    expect(() => jobToSpec(job, withStorage)).toThrow(
      expect.objectContaining({ errorCode: 'INVALID_MOUNT_PATH', field: 'specification.resources[0].mountPath' }),
    );
  });

  it('refuses two mounts at one explicit path, and an explicit path a default mount takes', () => {
    const twice = legacy(
      (j) =>
        (j.specification.resources = [
          { type: 'file', path: '/1/a', mountPath: '/mnt/x' },
          { type: 'file', path: '/1/b', mountPath: '/mnt/x' },
        ]),
    );
    expect(() => jobToSpec(twice, withStorage)).toThrow(expect.objectContaining({ errorCode: 'INVALID_MOUNT_PATH' }));
    const clash = legacy(
      (j) =>
        (j.specification.resources = [
          { type: 'file', path: '/1/a' },
          { type: 'file', path: '/1/b', mountPath: '/work/a' },
        ]),
    );
    expect(() => jobToSpec(clash, withStorage)).toThrow(expect.objectContaining({ errorCode: 'INVALID_MOUNT_PATH' }));
  });

  it('accepts readme, workflow and (empty) modules parameters as harmless', () => {
    const spec = jobToSpec(
      legacy((j) => {
        app(j).parameters.push(
          { type: 'readme', name: '__readme__', optional: true, description: 'Read me' },
          { type: 'modules', name: 'modules', optional: false, defaultValue: [] },
          { type: 'workflow', name: 'workflow', optional: true },
        );
        j.specification.parameters!.workflow = { type: 'workflow', specification: { job: 'echo hi', inputs: [] } };
      }),
      config,
    );
    expect(spec.command[0]).toBe('echo');
  });

  it('refuses private networks and module lists with a why', () => {
    const net = legacy((j) => (j.specification.parameters!.net = { type: 'private_network', id: '12' }));
    expect(() => jobToSpec(net, config)).toThrow(/private networks need network infrastructure/);
    const mods = legacy((j) => (j.specification.parameters!.mods = { type: 'modules', modules: ['gcc/13'] }));
    expect(() => jobToSpec(mods, config)).toThrow(/software module tree/);
  });

  it.each([
    ['PERIODIC_HOUR', 'PERIODIC_HOUR'],
    ['ONCE', 'ONCE'],
    [undefined, undefined],
    ['SOMETIMES', undefined],
  ])('category accountingFrequency %s is recorded as %s', (sent, recorded) => {
    const spec = jobToSpec(
      legacy((j) => (j.status!.resolvedProduct!.category.accountingFrequency = sent)),
      config,
    );
    expect(spec.product.accountingFrequency).toBe(recorded);
  });
});
