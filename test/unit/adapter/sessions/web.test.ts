import { interactiveHost } from '../../../../src/api/v1alpha1/names.js';
import { WebPublisher } from '../../../../src/adapter/sessions/web.js';
import type { UCloudJob } from '../../../../src/api/v1alpha1/ucloudjob.js';
import { unitConfig } from '../../../support/config.js';
import { FakeKube } from '../../../support/fake-kube.js';
import { job as ucloudJob } from '../../../support/job-factory.js';

const job = (jobId: string): UCloudJob => ucloudJob({ jobId, replicas: 2, webPort: 8888 }, 'u');

describe('interactiveHost', () => {
  it('fills {jobId}, {job} and {rank}; an id that is not DNS-safe becomes its hash', () => {
    expect(interactiveHost('app-{jobId}-{rank}.apps.example.org', job('54112'), 1)).toBe('app-54112-1.apps.example.org');
    expect(interactiveHost('{job}.r{rank}.Apps.Example.org', job('54112'), 0)).toBe('j-54112.r0.apps.example.org');
    expect(interactiveHost('app-{jobId}-{rank}.x', job('Weird_ID/1'), 0)).toMatch(/^app-[0-9a-f]{16}-0\.x$/);
  });
});

describe('WebPublisher', () => {
  it('creates the Service, Ingress and policy once; a second publish reuses them', async () => {
    const config = unitConfig({
      interactive: {
        web: {
          enabled: true,
          scheme: 'http',
          domainPattern: '{job}-{rank}.apps.test',
          auth: { verifyUrl: 'http://op.ucloud-system.svc:8080/ucloud/example/web-auth' },
        },
      },
    });
    const kube = new FakeKube();
    const ingresses: string[] = [];
    const seen = new Set<string>();
    const publisher = new WebPublisher(config, kube, {
      create: async (_ns, ing) => {
        ingresses.push(ing.metadata!.name!);
        if (seen.has(ing.metadata!.name!)) return false;
        seen.add(ing.metadata!.name!);
        return true;
      },
    });
    expect(await publisher.publish(job('7'), 'web', 1, 8888)).toBe('http://j-7-1.apps.test/');
    expect(await publisher.publish(job('7'), 'web', 1, 8888)).toBe('http://j-7-1.apps.test/');
    expect(await publisher.publish(job('7'), 'vnc', 0, 5900)).toBe('ws://vnc-7-0.apps.example.org/websockify');
    expect(
      kube
        .all('Service')
        .map((s: any) => s.metadata.name)
        .sort(),
    ).toEqual(['j-7-vnc-0', 'j-7-web-1']);
    expect(kube.all('NetworkPolicy')).toHaveLength(1);
    expect(ingresses).toEqual(['j-7-web-1', 'j-7-web-1', 'j-7-vnc-0']);
  });
});
