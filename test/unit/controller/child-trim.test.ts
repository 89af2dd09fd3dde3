import { policySpecHash, trimToIdentity } from '../../../src/controller/child-trim.js';

describe('NetworkPolicy spec digests', () => {
  const built = {
    podSelector: { matchLabels: { 'ucloud.dk/job': 'j-1' } },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{ _from: [{ podSelector: { matchLabels: { 'ucloud.dk/job': 'j-1' } } }] }],
    egress: [{ to: [{ podSelector: { matchLabels: { 'ucloud.dk/job': 'j-1' } } }] }],
  };
  // The same policy as a watch event carries it: wire key `from`, the apiserver's key order.
  const fromWatch = {
    egress: [{ to: [{ podSelector: { matchLabels: { 'ucloud.dk/job': 'j-1' } } }] }],
    ingress: [{ from: [{ podSelector: { matchLabels: { 'ucloud.dk/job': 'j-1' } } }] }],
    podSelector: { matchLabels: { 'ucloud.dk/job': 'j-1' } },
    policyTypes: ['Ingress', 'Egress'],
  };

  it('are the same for client-node model objects (_from) and wire JSON (from), in any key order', () => {
    expect(policySpecHash(fromWatch)).toBe(policySpecHash(built));
    expect(trimToIdentity({ metadata: { name: 'p' }, spec: fromWatch }, true).specHash).toBe(policySpecHash(built));
  });

  it('differ when the rules differ', () => {
    expect(policySpecHash({ ...fromWatch, ingress: [{}] })).not.toBe(policySpecHash(built));
  });

  it('are only computed when asked for', () => {
    expect(trimToIdentity({ metadata: { name: 'c' }, spec: fromWatch }).specHash).toBeUndefined();
  });
});
