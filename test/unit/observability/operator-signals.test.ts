// The operating signals: controller-runtime's remaining standard series (named and labelled as
// controller-runtime exports them) and the backlog/staleness gauges, read through the registry's
// Prometheus text as a scrape would.
import { CoreV1Api } from '@kubernetes/client-node';
import { withKeepAlive } from '../../../src/k8s/client-node-port.js';
import { withRequestCounting } from '../../../src/k8s/request-metrics.js';
import { WorkQueue } from '../../../src/k8s/workqueue.js';
import { OperatorMetrics } from '../../../src/observability/metrics.js';
import { startLoopbackApiserver } from '../../support/loopback-apiserver.js';

async function value(m: OperatorMetrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = metric?.values.find((x) => Object.entries(labels).every(([k, l]) => String(x.labels[k]) === l));
  return v?.value;
}

describe('operator signals', () => {
  it('workqueue_unfinished_work_seconds and _longest_running_processor_seconds grow while a key is in flight', async () => {
    const m = new OperatorMetrics({ defaultMetrics: false });
    const q = new WorkQueue('ucloudjob', undefined, m);
    q.add('a');
    q.add('b');
    const a = await q.get();
    await new Promise((r) => setTimeout(r, 60));
    const b = await q.get();
    await new Promise((r) => setTimeout(r, 40));
    const longest = (await value(m, 'workqueue_longest_running_processor_seconds', { name: 'ucloudjob' }))!;
    const unfinished = (await value(m, 'workqueue_unfinished_work_seconds', { name: 'ucloudjob' }))!;
    expect(longest).toBeGreaterThanOrEqual(0.09);
    // a has run about 0.1 s and b about 0.04 s: the sum exceeds the longest by b's time.
    expect(unfinished).toBeGreaterThan(longest + 0.03);
    q.done(a!);
    q.done(b!);
    expect(await value(m, 'workqueue_unfinished_work_seconds', { name: 'ucloudjob' })).toBe(0);
    expect(await value(m, 'workqueue_longest_running_processor_seconds', { name: 'ucloudjob' })).toBe(0);
  });

  it('rest_client_requests_total counts each apiserver request by code, method and host, through the keep-alive pool', async () => {
    const api = await startLoopbackApiserver((req, res) => {
      if (req.url?.includes('missing')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"ConfigMapList","apiVersion":"v1","metadata":{},"items":[]}');
    });
    try {
      const m = new OperatorMetrics({ defaultMetrics: false });
      const kc = withRequestCounting(withKeepAlive(api.kc, 4), (l) => m.restClientRequests.inc(l));
      const core = kc.makeApiClient(CoreV1Api);
      await Promise.all(Array.from({ length: 5 }, () => core.listNamespacedConfigMap({ namespace: 'x' })));
      await expect(core.readNamespacedConfigMap({ namespace: 'x', name: 'missing' })).rejects.toBeDefined();
      const host = new URL(api.kc.getCurrentCluster()!.server).host;
      expect(await value(m, 'rest_client_requests_total', { code: '200', method: 'GET', host })).toBe(5);
      expect(await value(m, 'rest_client_requests_total', { code: '404', method: 'GET', host })).toBe(1);
      // Counting keeps the pool: 6 calls, at most 4 connections.
      expect(api.connections()).toBeLessThanOrEqual(4);
    } finally {
      await api.close();
    }
  });

  it('counts a request that got no answer as code <error>', async () => {
    const api = await startLoopbackApiserver((req) => req.socket.destroy());
    try {
      const m = new OperatorMetrics({ defaultMetrics: false });
      const core = withRequestCounting(api.kc, (l) => m.restClientRequests.inc(l)).makeApiClient(CoreV1Api);
      await expect(core.listNamespacedConfigMap({ namespace: 'x' })).rejects.toBeDefined();
      expect(await value(m, 'rest_client_requests_total', { code: '<error>', method: 'GET' })).toBeGreaterThanOrEqual(1);
    } finally {
      await api.close();
    }
  });

  it('exports the outbox backlog and uncharged windows from the leader sources (0 on a standby), watch staleness per running informer', async () => {
    const m = new OperatorMetrics({ defaultMetrics: false });
    expect(await value(m, 'ucloud_operator_outbox_unacknowledged_updates')).toBe(0);
    let leading = true;
    m.observeBacklog(() => (leading ? { updates: 3, oldestAt: Date.now() - 120_000 } : undefined));
    m.observeUncharged(() => (leading ? { windows: 2, oldestClosedAt: Date.now() - 300_000 } : undefined));
    expect(await value(m, 'ucloud_operator_outbox_unacknowledged_updates')).toBe(3);
    expect(await value(m, 'ucloud_operator_outbox_oldest_unacknowledged_age_seconds')).toBeGreaterThanOrEqual(120);
    expect(await value(m, 'ucloud_operator_uncharged_windows')).toBe(2);
    expect(await value(m, 'ucloud_operator_uncharged_window_oldest_age_seconds')).toBeGreaterThanOrEqual(300);
    leading = false;
    expect(await value(m, 'ucloud_operator_outbox_unacknowledged_updates')).toBe(0);
    expect(await value(m, 'ucloud_operator_outbox_oldest_unacknowledged_age_seconds')).toBe(0);
    expect(await value(m, 'ucloud_operator_uncharged_windows')).toBe(0);
    expect(await value(m, 'ucloud_operator_uncharged_window_oldest_age_seconds')).toBe(0);

    m.watchHeardFrom('pods', Date.now() - 90_000);
    expect(await value(m, 'ucloud_operator_watch_staleness_seconds', { resource: 'pods' })).toBeGreaterThanOrEqual(90);
    m.watchStopped('pods');
    expect(await value(m, 'ucloud_operator_watch_staleness_seconds', { resource: 'pods' })).toBeUndefined();
  });
});
