import { headlessService } from '../../../src/controller/desired/service-builder.js';
import { childMetadata } from '../../../src/controller/desired/owner.js';
import { unitConfig } from '../../support/config.js';
import { job, NS } from '../../support/job-factory.js';

describe('the headless Service', () => {
  it('names every rank, ready or not, and needs no ports', () => {
    expect(headlessService(job({ webPort: 8888, vncPort: 5900 }), unitConfig())).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: childMetadata(job(), 'j-54112'),
      spec: {
        clusterIP: 'None',
        publishNotReadyAddresses: true,
        selector: { 'ucloud.dk/job': 'j-54112' },
      },
    });
    expect(headlessService(job(), unitConfig()).metadata?.namespace).toBe(NS);
  });
});
