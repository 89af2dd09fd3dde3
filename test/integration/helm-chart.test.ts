// The Helm chart on the real control plane: it lints strictly, bad values fail the
// schema at install time, the CRD it ships is crds/ byte for byte, and `helm install` creates a
// Deployment whose pods kwok runs, with the restricted security context and no secret in sight.
import { jest } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AppsV1Api, loadAllYaml, loadYaml, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { parseConfig } from '../../src/config.js';
import { OperatorMetrics } from '../../src/observability/metrics.js';
import { REPO } from '../support/cluster-env.js';
import { TEST_PRODUCTS, createTestNamespace, eventually, type TestNamespace } from '../support/harness.js';
import { CHART_DIR, helm, kubectl, workDir } from '../support/ops.js';

jest.setTimeout(150_000);

const CRD_FILE = resolve(REPO, 'crds/ucloudjobs.ucloud.dk.yaml');

type Obj = any;

const SECRET_TOKEN = 'refresh-token-that-must-never-show-up-anywhere';
const SECRET_KEY = 'public-key-that-must-never-show-up-anywhere';

async function render(args: string[] = []): Promise<Obj[]> {
  const res = await helm(['template', 'rel', CHART_DIR, '--namespace', 'ops', ...args]);
  if (res.code !== 0) throw new Error(`helm template failed: ${res.stderr}`);
  return loadAllYaml(res.stdout).filter(Boolean) as Obj[];
}

describe('the Helm chart', () => {
  it('passes helm lint --strict', async () => {
    const res = await helm(['lint', '--strict', CHART_DIR]);
    expect(res.stderr + res.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(res.code).toBe(0);
  });

  it.each([
    ['replicas below 1', ['--set', 'replicaCount=0'], /replicaCount/],
    ['a misspelt key', ['--set', 'replicas=2'], /additional properties 'replicas' not allowed|replicas/],
    [
      'an unknown price unit',
      ['--set', 'products[0].id=p,products[0].category=c,products[0].cpu=1,products[0].memoryInGigs=1,products[0].unitOfPrice=EUROS'],
      /unitOfPrice/,
    ],
    ['a Core URL that is not a URL', ['--set', 'ucloud.coreUrl=cloud.sdu.dk'], /coreUrl/],
    ['no products at all', ['--set-json', 'products=[]'], /products/],
    ['a PVC work volume without a claim', ['--set-json', 'jobs.workVolume={"type":"pvc"}'], /workVolume/],
    ['a credential in extraConfig', ['--set-json', 'extraConfig={"ucloud":{"refreshToken":"x"}}'], /extraConfig/],
    ['a renew deadline not below the lease duration', ['--set', 'leaderElection.renewDeadlineSeconds=15'], /renewDeadlineSeconds must be less/],
    ['SSH switched on without its RBAC', ['--set-json', 'extraConfig={"interactive":{"ssh":{"enabled":true}}}'], /set rbac\.interactiveSessions=true/],
    ['web sessions switched on without their RBAC', ['--set-json', 'extraConfig={"interactive":{"web":{"enabled":true}}}'], /set rbac\.webIngress=true/],
  ])('rejects %s at render time', async (_what, args, field) => {
    const res = await helm(['template', 'rel', CHART_DIR, ...args]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/values don't meet the specifications of the schema|renewDeadlineSeconds must be less|set rbac\./);
    expect(res.stderr).toMatch(field);
  });

  it('ships crds/ byte for byte, adding only the keep policy', async () => {
    const file = readFileSync(CRD_FILE, 'utf8');
    expect(readFileSync(join(CHART_DIR, 'files/crds/ucloudjobs.ucloud.dk.yaml'), 'utf8')).toBe(file);

    const kept = await helm(['template', 'rel', CHART_DIR, '--show-only', 'templates/crd.yaml']);
    const body = kept.stdout.replace(/^---\n# Source: [^\n]*\n/, '');
    expect(body.replace('  annotations:\n    helm.sh/resource-policy: keep\n', '')).toBe(file.endsWith('\n') ? file : `${file}\n`);
    expect((loadYaml(body) as Obj).metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });

    const notKept = await helm(['template', 'rel', CHART_DIR, '--show-only', 'templates/crd.yaml', '--set', 'crds.keep=false']);
    expect(notKept.stdout.replace(/^---\n# Source: [^\n]*\n/, '')).toBe(file.endsWith('\n') ? file : `${file}\n`);

    const none = await render(['--set', 'crds.install=false']);
    expect(none.filter((o) => o.kind === 'CustomResourceDefinition')).toEqual([]);
  });

  it('documents every value in values.yaml and describes it in values.schema.json', () => {
    const text = readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8');
    const values = loadYaml(text) as Obj;
    const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8'));
    const leaves: string[] = [];
    // Kubernetes-typed structures are documented as a whole.
    const FREE_FORM = new Set(['resources']);
    const walk = (v: Obj, path: string[], s: Obj) => {
      expect([path.join('.'), s !== undefined]).toEqual([path.join('.'), true]);
      if (path.length) expect([path.join('.'), typeof s.description]).toEqual([path.join('.'), 'string']);
      if (v && typeof v === 'object' && !Array.isArray(v) && s.properties && !FREE_FORM.has(path.join('.'))) {
        for (const [k, child] of Object.entries(v)) walk(child, [...path, k], s.properties[k]);
      } else leaves.push(path.join('.'));
    };
    walk(values, [], schema);
    // The comment in values.yaml starts with the value's dotted name (helm-docs style).
    for (const leaf of leaves) expect([leaf, text.includes(`# ${leaf} -- `)]).toEqual([leaf, true]);
    expect(leaves.length).toBeGreaterThan(30);
  });

  it('ships a Grafana dashboard that queries only series the operator exports', async () => {
    const dashboard = readFileSync(join(CHART_DIR, 'dashboards/ucloud-operator.json'), 'utf8');
    const exprs = [...dashboard.matchAll(/"expr":\s*"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]!}"`) as string);
    expect(exprs.length).toBeGreaterThan(5);
    const exported = new Set((await new OperatorMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
    const PROMQL = new Set([
      'sum',
      'by',
      'rate',
      'histogram_quantile',
      'max',
      'time',
      'le',
      'state',
      'call',
      'code',
      'result',
      'outcome',
      'pod',
      'resource',
      'namespace',
      'method',
      'reason',
    ]);
    for (const expr of exprs) {
      // Every query follows the dashboard's namespace variable.
      for (const [sel] of expr.matchAll(/\b(ucloud_operator|controller_runtime|workqueue|rest_client|leader_election)_[a-z0-9_]+(\{[^}]*\})?/g)) {
        expect([expr, sel.includes('namespace=~"$namespace"')]).toEqual([expr, true]);
      }
      for (const [name] of expr
        .replace(/\[[^\]]*\]/g, '')
        .replace(/"[^"]*"/g, '""')
        .matchAll(/[a-z_][a-z0-9_]*/g)) {
        if (PROMQL.has(name) || /^\d/.test(name)) continue;
        const base = name.replace(/_(bucket|sum|count)$/, '');
        expect([expr, name, exported.has(name) || exported.has(base)]).toEqual([expr, name, true]);
      }
    }
    const vars = JSON.parse(dashboard).templating.list.map((v: Obj) => v.name);
    expect(vars).toEqual(['datasource', 'namespace']);
    const titles = JSON.parse(dashboard).panels.map((p: Obj) => p.title);
    expect(titles).toEqual(
      expect.arrayContaining([
        'Errors',
        'Reconcile errors / s',
        'Backlog',
        'Unacknowledged job updates',
        'Oldest unacknowledged update',
        'Uncharged windows, oldest age',
      ]),
    );
    const cm = (await render(['--set', 'grafanaDashboard.enabled=true'])).find((o) => o.kind === 'ConfigMap' && o.metadata.labels.grafana_dashboard === '1');
    expect(JSON.parse(cm.data['ucloud-operator.json'])).toEqual(JSON.parse(dashboard));
  });

  it('renders the optional objects only when asked (and possible)', async () => {
    const kinds = (objs: Obj[]) => objs.map((o) => o.kind).sort();
    const base = await render();
    expect(kinds(base)).toEqual(
      [
        'ClusterRole',
        'ClusterRole',
        'ClusterRole',
        'ClusterRoleBinding',
        'ConfigMap',
        'CustomResourceDefinition',
        'Deployment',
        'Namespace',
        'NetworkPolicy',
        'NetworkPolicy',
        'Pod',
        'PodDisruptionBudget',
        'Role',
        'Role',
        'RoleBinding',
        'RoleBinding',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
    expect(kinds(await render(['--set', 'tests.enabled=false,rbac.userRoles=false']))).toEqual(
      kinds(base).filter((k, i, all) => k !== 'Pod' && !(k === 'ClusterRole' && all.indexOf('ClusterRole') !== i)),
    );
    for (const opt of ['Ingress', 'ServiceMonitor', 'PrometheusRule']) expect(kinds(base)).not.toContain(opt);
    // One replica: no PodDisruptionBudget (it would block every drain).
    expect(kinds(await render(['--set', 'replicaCount=1']))).not.toContain('PodDisruptionBudget');
    // A ServiceMonitor renders whenever enabled, also where discovery cannot see its CRD (helm
    // template, GitOps): never silently dropped.
    const sm = (await render(['--set', 'serviceMonitor.enabled=true,serviceMonitor.labels.release=prom'])).find((o) => o.kind === 'ServiceMonitor');
    expect(sm.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s' }]);
    expect(sm.metadata.labels.release).toBe('prom');
    // The Deployment's drain deadline follows the grace period.
    const dep = (await render(['--set', 'terminationGracePeriodSeconds=60'])).find((o) => o.kind === 'Deployment');
    expect(dep.spec.template.spec.terminationGracePeriodSeconds).toBe(60);
    const env = Object.fromEntries(dep.spec.template.spec.containers[0].env.map((e: Obj) => [e.name, e.value]));
    expect(env.SHUTDOWN_DEADLINE_MS).toBe('55000');
  });

  it("sets V8's heap limits from runtime and the memory limit, and glibc's allocator unless told 0", async () => {
    const envOf = async (args: string[]) => {
      const dep = (await render(args)).find((o) => o.kind === 'Deployment');
      return Object.fromEntries(dep.spec.template.spec.containers[0].env.map((e: Obj) => [e.name, e.value]));
    };
    expect(await envOf([])).toMatchObject({
      NODE_OPTIONS: '--max-old-space-size=384 --max-semi-space-size=4',
      MALLOC_ARENA_MAX: '2',
      MALLOC_TRIM_THRESHOLD_: '131072',
    });
    const custom = await envOf(['--set', 'resources.limits.memory=1Gi,runtime.heapPercentOfLimit=50,runtime.maxSemiSpaceMiB=8,runtime.mallocArenaMax=0']);
    expect(custom.NODE_OPTIONS).toBe('--max-old-space-size=512 --max-semi-space-size=8');
    expect(custom).not.toHaveProperty('MALLOC_ARENA_MAX');
  });

  it('security: H1/M8 ships a default-deny policy for the jobs namespace and a policy for the operator', async () => {
    const objs = await render(['--set', 'jobsNamespace=ucloud-jobs,networkPolicy.adapterFrom[0].ipBlock.cidr=10.0.0.0/8']);
    const policies = objs.filter((o) => o.kind === 'NetworkPolicy');
    const deny = policies.find((o) => o.metadata.name === 'rel-ucloud-operator-jobs-default-deny')!;
    // Every pod of the jobs namespace, both directions, nothing admitted.
    expect(deny.metadata.namespace).toBe('ucloud-jobs');
    const plain = (v: unknown) => JSON.parse(JSON.stringify(v).replaceAll('"_from"', '"from"'));
    expect(plain(deny.spec)).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const op = policies.find((o) => o.metadata.name === 'rel-ucloud-operator')!;
    expect(op.metadata.namespace).toBe('ops');
    expect(plain(op.spec.ingress)).toEqual([
      { ports: [{ protocol: 'TCP', port: 8080 }], from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] },
      {
        ports: [{ protocol: 'TCP', port: 8081 }],
        from: [
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
          { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ucloud-operator', 'app.kubernetes.io/instance': 'rel' } } },
        ],
      },
    ]);
    // Sharing the release namespace (allowed explicitly), the default-deny leaves the operator's own pods to its policy.
    const shared = (await render(['--set', 'jobsNamespace=ops,jobs.allowReleaseNamespace=true'])).find(
      (o) => o.kind === 'NetworkPolicy' && o.metadata.name.endsWith('default-deny'),
    )!;
    expect(plain(shared.spec.podSelector)).toEqual({ matchExpressions: [{ key: 'app.kubernetes.io/instance', operator: 'NotIn', values: ['rel'] }] });
  });

  it('security: M8 refuses the release namespace for the jobs unless allowed, and never with Secrets permissions there', async () => {
    for (const args of [
      ['--set', 'jobsNamespace='],
      ['--set', 'jobsNamespace=ops'],
    ]) {
      const res = await helm(['template', 'rel', CHART_DIR, '--namespace', 'ops', ...args]);
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(/jobsNamespace "ops" is the release namespace: give the jobs a namespace of their own/);
    }
    // Allowed explicitly: it renders, but not with the Secrets the interactive features need.
    expect((await helm(['template', 'rel', CHART_DIR, '--namespace', 'ops', '--set', 'jobsNamespace=ops,jobs.allowReleaseNamespace=true'])).code).toBe(0);
    for (const rbac of ['rbac.interactiveSessions=true', 'rbac.webIngress=true']) {
      const res = await helm(['template', 'rel', CHART_DIR, '--namespace', 'ops', '--set', `jobsNamespace=ops,jobs.allowReleaseNamespace=true,${rbac}`]);
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(/grant Secrets in jobsNamespace: with jobsNamespace = the release namespace that reaches ucloud.existingSecret/);
    }
    // The default: a namespace of its own, and every namespaced permission is there, none in the release's.
    const objs = await render();
    const roles = objs.filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding');
    expect([...new Set(roles.map((r) => r.metadata.namespace))]).toEqual(['ucloud-jobs']);
  });

  it.each([
    ['non-root', [], 'restricted', 'non-root'],
    ['im2', ['--set', 'jobs.rootApps=im2'], 'baseline', 'im2'],
    ['the legacy allowRunAsRoot', ['--set', 'jobs.allowRunAsRoot=true'], 'baseline', 'root-no-capabilities'],
  ])('security: M8 labels the jobs namespace it creates for Pod Security: %s', async (_what, args, level, profile) => {
    const objs = await render(['--set', 'jobsNamespaceLabels.team=hpc', ...args]);
    const ns = objs.find((o) => o.kind === 'Namespace');
    expect(ns.metadata.name).toBe('ucloud-jobs');
    expect(ns.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
    expect(ns.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': level,
      'pod-security.kubernetes.io/warn': level,
      'pod-security.kubernetes.io/audit': level,
      team: 'hpc',
    });
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.data?.['config.json']);
    expect(JSON.parse(cm.data['config.json']).jobs.rootApps).toBe(profile);
    // A site label cannot weaken the level.
    const forced = (await render(['--set', 'jobsNamespaceLabels.pod-security\\.kubernetes\\.io/enforce=privileged', ...args])).find(
      (o) => o.kind === 'Namespace',
    );
    expect(forced.metadata.labels['pod-security.kubernetes.io/enforce']).toBe(level);
    // Not created when the site brings its own namespace.
    expect((await render(['--set', 'jobsNamespaceCreate=false', ...args])).filter((o) => o.kind === 'Namespace')).toEqual([]);
  });

  it('merges extraConfig over the rendered configuration', async () => {
    const cm = (await render(['--set-json', 'extraConfig={"reporting":{"retryAttempts":8},"jobs":{"retainFinishedSeconds":60}}'])).find(
      (o) => o.kind === 'ConfigMap' && o.data?.['config.json'],
    );
    const config = JSON.parse(cm.data['config.json']);
    expect(config.reporting).toEqual({ retryAttempts: 8 });
    expect(config.jobs).toMatchObject({ retainFinishedSeconds: 60, failureRule: 'exit-code' });
    // What the chart renders is what the operator's own schema accepts.
    expect(() => parseConfig({ ...config, ucloud: { ...config.ucloud, refreshToken: 't', publicKey: 'k' } })).not.toThrow();
  });

  it('passes jobs.jobFolder to the operator, which accepts it; leaves it out when unset', async () => {
    const configOf = async (args: string[] = []) =>
      JSON.parse((await render(args)).find((o) => o.kind === 'ConfigMap' && o.data?.['config.json']).data['config.json']);
    const folder = {
      perDriveClaim: 'drive-{drive}',
      volumePath: { home: 'home-{user}/Jobs/{appTitle}/{jobId}' },
      ucloudPath: { home: '/h/{user}/{jobId}', project: '/p/{project}/{jobId}' },
    };
    const config = await configOf(['--set-json', `jobs.jobFolder=${JSON.stringify(folder)}`]);
    expect(config.jobs.jobFolder).toEqual(folder);
    const parsed = parseConfig({ ...config, ucloud: { ...config.ucloud, refreshToken: 't', publicKey: 'k' } });
    expect(parsed.jobs.jobFolder?.volumePath.project).toBe("projects/{project}/Members' Files/{user}/Jobs/{appTitle}/{jobId}");
    expect((await configOf()).jobs).not.toHaveProperty('jobFolder');
  });

  it('passes jobs.utilization to the operator as interactive.utilization, merged with extraConfig', async () => {
    const configOf = async (args: string[] = []) =>
      JSON.parse((await render(args)).find((o) => o.kind === 'ConfigMap' && o.data?.['config.json']).data['config.json']);
    expect((await configOf()).interactive).toEqual({ utilization: { enabled: true, intervalSeconds: 5 } });
    const config = await configOf([
      '--set',
      'jobs.utilization.enabled=false,jobs.utilization.kubeletCaFile=/etc/kubelet-ca/ca.crt',
      '--set-json',
      'extraConfig={"interactive":{"terminals":true}}',
      '--set',
      'rbac.interactiveSessions=true',
    ]);
    expect(config.interactive).toEqual({ terminals: true, utilization: { enabled: false, intervalSeconds: 5, kubeletCaFile: '/etc/kubelet-ca/ca.crt' } });
    const parsed = parseConfig({ ...config, ucloud: { ...config.ucloud, refreshToken: 't', publicKey: 'k' } });
    expect(parsed.interactive.utilization).toMatchObject({ enabled: false, kubeletCaFile: '/etc/kubelet-ca/ca.crt' });
  });

  it('renders least-privilege RBAC, namespaced when asked', async () => {
    const objs = await render();
    const roles = objs.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole');
    const rules = roles.flatMap((r) => r.rules.map((rule: Obj) => ({ kind: r.kind, ...rule })));
    // Nothing ever gets secrets, wildcards, escalation verbs or exec.
    for (const rule of rules) {
      expect(rule.resources).not.toContain('secrets');
      expect(rule.resources).not.toContain('*');
      expect(rule.verbs).not.toContain('*');
      for (const v of ['escalate', 'bind', 'impersonate', 'deletecollection']) expect(rule.verbs).not.toContain(v);
      expect(rule.resources).not.toContain('pods/exec');
      // The kubelet's proxy would also allow exec into every pod through the kubelet.
      expect(rule.resources).not.toContain('nodes/proxy');
    }
    // Cluster-wide: reading Nodes only (the user roles below are for people, bound by no one here).
    const operatorRoles = roles.filter((r) => !/-ucloudjob-(viewer|editor)$/.test(r.metadata.name));
    const clusterRules = operatorRoles.filter((r) => r.kind === 'ClusterRole').flatMap((r) => r.rules.map((rule: Obj) => ({ kind: r.kind, ...rule })));
    // ...and, for utilization charts on follow (jobs.utilization, on by default), nodes/stats.
    expect(clusterRules.map((r) => [r.resources, r.verbs])).toEqual([
      [['nodes'], ['get', 'list']],
      [['nodes/stats'], ['get']],
    ]);

    // Interactive features add Secrets (list for the sweep of expired sessions, no watch) and exec, only when asked.
    const interactive = await render(['--set', 'rbac.interactiveSessions=true,rbac.webIngress=true']);
    const extra = interactive
      .filter((o) => o.kind === 'Role')
      .flatMap((r) => r.rules)
      .filter((rule: Obj) => ['secrets', 'pods/exec', 'ingresses'].some((x) => rule.resources.includes(x)));
    expect(extra.map((r: Obj) => [r.resources, r.verbs])).toEqual([
      [['secrets'], ['get', 'list', 'create', 'delete']],
      [['pods/exec'], ['get', 'create']],
      [['ingresses'], ['get', 'create', 'delete']],
    ]);

    // Kueue (jobs.gangBackend kueue) adds its Workloads in the jobs namespace and reading flavors, only then.
    const kueue = await render(['--set', 'jobs.gangBackend=kueue', '--set', 'jobs.kueueProjectQueueName=project-{project}']);
    const kueueRules = kueue
      .filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')
      .flatMap((r) => r.rules.map((rule: Obj) => ({ kind: r.kind, ...rule })))
      .filter((rule: Obj) => rule.apiGroups.includes('kueue.x-k8s.io'));
    expect(kueueRules.map((r: Obj) => [r.kind, r.resources, r.verbs])).toEqual([
      ['ClusterRole', ['resourceflavors'], ['get']],
      ['Role', ['workloads'], ['get', 'list', 'watch', 'create', 'delete']],
      ['Role', ['workloads/status'], ['update']],
    ]);
    const kueueConfig = JSON.parse(kueue.find((o) => o.kind === 'ConfigMap' && o.data?.['config.json']).data['config.json']);
    expect(parseConfig({ ...kueueConfig, ucloud: { ...kueueConfig.ucloud, refreshToken: 't', publicKey: 'k' } }).jobs.gang).toMatchObject({
      backend: 'kueue',
      kueue: { queueName: 'ucloud', projectQueueName: 'project-{project}' },
    });
    expect(rules.filter((rule: Obj) => rule.apiGroups.includes('kueue.x-k8s.io'))).toEqual([]);

    const userRole = (o: Obj) => /-ucloudjob-(viewer|editor)$/.test(o.metadata.name);
    const clusterWide = (objs: Obj[]) => objs.filter((o) => (o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding') && !userRole(o));
    const statsOnly = clusterWide(await render(['--set', 'rbac.clusterNodesRead=false']));
    expect(statsOnly.filter((o) => o.kind === 'ClusterRole').flatMap((r) => r.rules.map((rule: Obj) => [rule.resources, rule.verbs]))).toEqual([
      [['nodes'], ['get']],
      [['nodes/stats'], ['get']],
    ]);
    const namespaced = await render(['--set', 'rbac.clusterNodesRead=false,jobs.utilization.enabled=false']);
    expect(clusterWide(namespaced)).toEqual([]);
    const noRbac = await render(['--set', 'rbac.create=false']);
    expect(noRbac.filter((o) => /Role/.test(o.kind))).toEqual([]);
  });

  describe('alerts, scraping and ingress', () => {
    const README = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');
    /** Series names an expression reads (functions, keywords, labels and string values left out). */
    const seriesOf = (expr: string) =>
      [
        ...expr
          .replace(/\[[^\]]*\]/g, '')
          .replace(/"[^"]*"/g, '""')
          .replace(/\{[^}]*\}/g, '')
          .replace(/\bby \([^)]*\)/g, '')
          .matchAll(/[a-z_][a-z0-9_]*/g),
      ]
        .map((m) => m[0])
        .filter((n) => !['sum', 'max', 'by', 'rate', 'increase', 'or', 'and', 'unless', 'vector'].includes(n));

    it('renders a PrometheusRule the Prometheus Operator schema accepts, every alert on exported series with a runbook', async () => {
      const objs = await render([
        '--set',
        'prometheusRule.enabled=true,prometheusRule.labels.release=prom',
        '--set-json',
        'prometheusRule.alertLabels={"team":"hpc"}',
      ]);
      const rule = objs.find((o) => o.kind === 'PrometheusRule');
      // Schema-checked with the validators @kubernetes-models generates from prometheus-operator's CRDs.
      expect(() => new PrometheusRule(rule).validate()).not.toThrow();
      expect(rule.metadata.labels.release).toBe('prom');
      const alerts = rule.spec.groups.flatMap((g: Obj) => g.rules);
      expect(alerts.map((a: Obj) => a.alert)).toEqual([
        'UCloudOperatorNoLeader',
        'UCloudOperatorTokenRefreshFailing',
        'UCloudOperatorReportingBacklog',
        'UCloudOperatorChargingBacklog',
        'UCloudOperatorReconcileErrors',
        'UCloudOperatorWatchStale',
        'UCloudOperatorWorkQueueStuck',
      ]);
      const exported = new Set((await new OperatorMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
      for (const a of alerts) {
        for (const name of seriesOf(a.expr)) expect([a.alert, name, exported.has(name.replace(/_(bucket|sum|count)$/, ''))]).toEqual([a.alert, name, true]);
        // Only this release's replicas, as the chart's ServiceMonitor scrapes them.
        expect(a.expr).toContain('namespace="ops", job="rel-ucloud-operator"');
        expect(a.labels).toMatchObject({ severity: expect.stringMatching(/^(critical|warning)$/), team: 'hpc' });
        // The runbook_url anchor is a heading of the chart README (GitHub's anchor: lower case).
        const anchor = a.annotations.runbook_url.split('#')[1];
        expect(anchor).toBe(a.alert.toLowerCase());
        expect([a.alert, README.includes(`\n### ${a.alert}\n`)]).toEqual([a.alert, true]);
      }
      expect(alerts.find((a: Obj) => a.alert === 'UCloudOperatorNoLeader').expr).toContain('name="rel-ucloud-operator-leader"');
      // A schema violation is caught by the same check (the check is not vacuous).
      expect(() => new PrometheusRule({ ...rule, spec: { groups: [{ name: 'x', rules: [{ alert: 'A' }] }] } }).validate()).toThrow();
    });

    it('renders a valid ServiceMonitor when enabled, with no cluster to ask', async () => {
      const sm = (await render(['--set', 'serviceMonitor.enabled=true'])).find((o) => o.kind === 'ServiceMonitor');
      expect(() => new ServiceMonitor(sm).validate()).not.toThrow();
      expect(sm.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'ucloud-operator', 'app.kubernetes.io/instance': 'rel' });
      expect(sm.spec.namespaceSelector).toEqual({ matchNames: ['ops'] });
      expect(() => new ServiceMonitor({ ...sm, spec: { ...sm.spec, endpoints: [{ port: 7 }] } }).validate()).toThrow();
    });

    it('renders the adapter Ingress with class, host, TLS and annotations', async () => {
      const objs = await render([
        '--set',
        'ingress.enabled=true,ingress.className=nginx,ingress.host=k8s.provider.example.org',
        '--set-json',
        'ingress.tls=[{"secretName":"provider-tls","hosts":["k8s.provider.example.org"]}]',
        '--set-json',
        'ingress.annotations={"nginx.ingress.kubernetes.io/proxy-read-timeout":"3600"}',
      ]);
      const ing = objs.find((o) => o.kind === 'Ingress');
      expect(ing.spec).toEqual({
        ingressClassName: 'nginx',
        tls: [{ secretName: 'provider-tls', hosts: ['k8s.provider.example.org'] }],
        rules: [
          {
            host: 'k8s.provider.example.org',
            http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'rel-ucloud-operator', port: { name: 'adapter' } } } }] },
          },
        ],
      });
      expect(ing.metadata.annotations).toEqual({ 'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600' });
      const bad = await helm(['template', 'rel', CHART_DIR, '--set', 'ingress.enabled=true,ingress.host=Not A Host']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/ingress/);
    });

    it('takes security contexts, extra env and volumes, spread and priority from values (OpenShift: no fixed UID)', async () => {
      const dep = (
        await render([
          '--set',
          'podSecurityContext.runAsUser=null,podSecurityContext.runAsGroup=null,podSecurityContext.fsGroup=null,priorityClassName=system-cluster-critical',
          '--set-json',
          'extraEnv=[{"name":"HTTPS_PROXY","value":"http://proxy:3128"}]',
          '--set-json',
          'extraVolumes=[{"name":"ca","configMap":{"name":"site-ca"}}]',
          '--set-json',
          'extraVolumeMounts=[{"name":"ca","mountPath":"/etc/site-ca","readOnly":true}]',
          '--set-json',
          'topologySpreadConstraints=[{"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"ScheduleAnyway","labelSelector":{"matchLabels":{"app.kubernetes.io/name":"ucloud-operator"}}}]',
        ])
      ).find((o) => o.kind === 'Deployment');
      const pod = dep.spec.template.spec;
      expect(pod.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.priorityClassName).toBe('system-cluster-critical');
      expect(pod.topologySpreadConstraints[0].topologyKey).toBe('topology.kubernetes.io/zone');
      expect(pod.volumes.map((v: Obj) => v.name)).toEqual(['config', 'credentials', 'tmp', 'ca']);
      const c = pod.containers[0];
      expect(c.env.at(-1)).toEqual({ name: 'HTTPS_PROXY', value: 'http://proxy:3128' });
      expect(c.volumeMounts.at(-1)).toEqual({ name: 'ca', mountPath: '/etc/site-ca', readOnly: true });
      expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      // The defaults stay restricted.
      const plain = (await render()).find((o) => o.kind === 'Deployment').spec.template.spec;
      expect(plain.securityContext).toEqual({
        runAsNonRoot: true,
        runAsUser: 65532,
        runAsGroup: 65532,
        fsGroup: 65532,
        seccompProfile: { type: 'RuntimeDefault' },
      });
    });

    it('renders the helm test hook: the operator image running --self-test, no API token', async () => {
      const pod = (await render()).find((o) => o.kind === 'Pod');
      expect(pod.metadata.annotations['helm.sh/hook']).toBe('test');
      expect(pod.spec.automountServiceAccountToken).toBe(false);
      expect(pod.spec.restartPolicy).toBe('Never');
      const c = pod.spec.containers[0];
      expect(c.image).toBe('ghcr.io/ucloud-operator/ucloud-operator:0.1.0');
      expect(c.args).toEqual(['--self-test']);
      expect(c.env.find((e: Obj) => e.name === 'SELF_TEST_READYZ_URL').value).toBe('http://rel-ucloud-operator.ops.svc:8081/readyz');
      expect(JSON.stringify(pod)).not.toMatch(/refreshToken"?:\s*"[^"]/);
    });
  });

  describe('installed', () => {
    let ns: TestNamespace;
    /** The jobs' namespace, created by the chart (jobsNamespaceCreate) and kept on uninstall. */
    let jobsNs = '';
    const release = `chart-${process.pid}`;
    let notes = '';
    let installOutput = '';
    beforeAll(async () => {
      ns = await createTestNamespace('helm');
      jobsNs = `${ns.name}-jobs`;
      await ns.core.createNamespacedSecret({
        namespace: ns.name,
        body: { metadata: { name: 'ucloud-credentials' }, stringData: { refreshToken: SECRET_TOKEN, publicKey: SECRET_KEY } },
      });
      const values = {
        providerId: 'example',
        ucloud: { coreUrl: 'http://127.0.0.1:1', existingSecret: 'ucloud-credentials' },
        products: TEST_PRODUCTS,
        image: { repository: 'registry.invalid/ucloud-operator', tag: 'test' },
        jobsNamespace: jobsNs,
      };
      const file = join(workDir('helm-values'), 'values.yaml');
      writeFileSync(file, JSON.stringify(values));
      // The CRD is already there (global setup applied crds/ as an admin would): the release
      // takes it over, and keeps it when uninstalled.
      const res = await helm(['install', release, CHART_DIR, '--namespace', ns.name, '-f', file, '--take-ownership', '--wait=false']);
      installOutput = res.stdout + res.stderr;
      if (res.code !== 0) throw new Error(`helm install failed: ${installOutput}`);
      notes = (await helm(['get', 'notes', release, '--namespace', ns.name])).stdout;
    });
    afterAll(async () => {
      if (ns) await helm(['uninstall', release, '--namespace', ns.name, '--wait=false']);
      if (jobsNs) await kubectl(['delete', 'namespace', jobsNs, '--wait=false', '--ignore-not-found']);
      await ns?.delete();
    });

    it('security: M8 creates the jobs namespace with Pod Security restricted enforced', async () => {
      const created = JSON.parse((await kubectl(['get', 'namespace', jobsNs, '-o', 'json'])).stdout);
      expect(created.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
      // The apiserver's Pod Security admission enforces it: a root pod is refused there.
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'root-probe' }, spec: { containers: [{ name: 'c', image: 'x' }] } };
      const refused = await ns.core.createNamespacedPod({ namespace: jobsNs, body: pod, dryRun: 'All' }).then(
        () => 'admitted',
        (e: Error) => e.message.replaceAll('\\', ''),
      );
      expect(refused).toMatch(/violates PodSecurity "restricted:latest/);
    });

    it('creates the operator Deployment, and kwok runs its two pods', async () => {
      const apps = ns.kc.makeApiClient(AppsV1Api);
      const name = `${release}-ucloud-operator`;
      const dep: V1Deployment = await apps.readNamespacedDeployment({ name, namespace: ns.name });
      expect(dep.spec?.replicas).toBe(2);
      const pods = await eventually(
        async () => {
          const list = await ns.kube.pods.list(ns.name, `app.kubernetes.io/instance=${release}`);
          const running = list.items.filter((p) => p.status?.phase === 'Running' && p.spec?.nodeName);
          return running.length === 2 ? running : undefined;
        },
        'two operator pods Running on kwok nodes',
        60_000,
      );
      await eventually(
        async () => {
          const d = await apps.readNamespacedDeployment({ name, namespace: ns.name });
          return d.status?.availableReplicas === 2;
        },
        'the Deployment to be available',
        60_000,
      );
      const rollout = await kubectl(['-n', ns.name, 'rollout', 'status', `deploy/${name}`, '--timeout=30s']);
      expect(rollout.stdout).toMatch(/successfully rolled out/);

      const pod: V1Pod = pods[0]!;
      const c = pod.spec!.containers[0]!;
      expect(pod.spec?.serviceAccountName).toBe(name);
      expect(pod.spec?.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(c.image).toBe('registry.invalid/ucloud-operator:test');
      // Secrets arrive as files from the Secret volume, never as values in the pod spec.
      const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));
      expect(env).toMatchObject({ UCLOUD_REFRESH_TOKEN_FILE: expect.any(String), UCLOUD_PUBLIC_KEY_FILE: expect.any(String) });
      expect(JSON.stringify(pod)).not.toContain(SECRET_TOKEN);
      // Two replicas go to different nodes when they can.
      expect(pod.spec?.affinity?.podAntiAffinity).toBeDefined();
    });

    it('renders a config the operator accepts, and shows no secret anywhere', async () => {
      const cm = await ns.kube.configMaps.get(ns.name, `${release}-ucloud-operator`);
      const config = JSON.parse(cm!.data!['config.json']!);
      expect(config).toMatchObject({ providerId: 'example', namespace: jobsNs, leaderElection: { enabled: true } });
      expect(config.ucloud.refreshToken).toBeUndefined();
      const everything = (await kubectl(['-n', ns.name, 'get', 'all,cm,pdb,sa,role,rolebinding,lease', '-o', 'yaml'])).stdout;
      expect(everything).not.toContain(SECRET_TOKEN);
      expect(everything).not.toContain(SECRET_KEY);
      expect(notes).toMatch(/ucloud-credentials/);
      expect(notes + installOutput).not.toContain(SECRET_TOKEN);
      expect(notes + installOutput).not.toContain(SECRET_KEY);
      // A PodDisruptionBudget keeps one replica through voluntary disruptions.
      const pdb = (await kubectl(['-n', ns.name, 'get', 'pdb', `${release}-ucloud-operator`, '-o', 'json'])).stdout;
      expect(JSON.parse(pdb).spec.minAvailable).toBe(1);
    });

    it('refuses an install with a bad value before creating anything', async () => {
      const bad = `${release}-bad`;
      const res = await helm([
        'install',
        bad,
        CHART_DIR,
        '--namespace',
        ns.name,
        '--set',
        `ucloud.existingSecret=ucloud-credentials,replicaCount=0,jobsNamespace=${jobsNs}`,
      ]);
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(/values don't meet the specifications of the schema[\s\S]*replicaCount/);
      expect((await helm(['list', '--namespace', ns.name, '--all', '-q'])).stdout.split('\n')).not.toContain(bad);
      const apps = ns.kc.makeApiClient(AppsV1Api);
      const deployments = (await apps.listNamespacedDeployment({ namespace: ns.name })).items.map((d) => d.metadata?.name);
      expect(deployments).toEqual([`${release}-ucloud-operator`]);
    });

    it('fails an install that asks for a ServiceMonitor on a cluster without its CRD, saying so', async () => {
      const bad = `${release}-sm`;
      const res = await helm([
        'install',
        bad,
        CHART_DIR,
        '--namespace',
        ns.name,
        '--set',
        `ucloud.existingSecret=ucloud-credentials,serviceMonitor.enabled=true,crds.install=false,jobsNamespace=${jobsNs},jobsNamespaceCreate=false`,
      ]);
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(/no matches for kind "ServiceMonitor" in version "monitoring\.coreos\.com\/v1"/);
      expect((await helm(['list', '--namespace', ns.name, '--all', '-q'])).stdout.split('\n')).not.toContain(bad);
    });

    it('keeps the CRD when the release is uninstalled', async () => {
      const res = await helm(['uninstall', release, '--namespace', ns.name, '--wait=false']);
      expect(res.code).toBe(0);
      expect(res.stdout + res.stderr).toMatch(/kept due to the resource policy|uninstalled/);
      const crd = await kubectl(['get', 'crd', 'ucloudjobs.ucloud.dk', '-o', 'name']);
      expect(crd.stdout.trim()).toBe('customresourcedefinition.apiextensions.k8s.io/ucloudjobs.ucloud.dk');
      await eventually(async () => {
        const apps = ns.kc.makeApiClient(AppsV1Api);
        const list = await apps.listNamespacedDeployment({ namespace: ns.name });
        return list.items.length === 0;
      }, 'the Deployment to be gone');
    });
  });
});
