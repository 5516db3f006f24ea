import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { loadEnvironment } from '../../src/config/environment';
import {
  healthRoutes,
  knownVariables,
  REPO_ROOT,
  settingOf,
  shutdownMs,
  stringMap,
  yamlDocuments,
} from '../support/deployment-files';

/**
 * deploy/kubernetes against the app: probes on HealthController's routes, container ports equal to
 * the PORT and GRPC_PORT the pods get, every environment variable name one the configuration schema
 * knows (a renamed variable fails here, not in a cluster), a termination grace period above the
 * shutdown settings, non-root pods with a read-only root filesystem, and kustomizations that list
 * every file beside them.
 */

const KUBERNETES = 'deploy/kubernetes';

interface Probe {
  httpGet?: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
}
interface Container {
  name: string;
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; runAsUser?: number };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  volumes?: { name: string; emptyDir?: { sizeLimit?: string } }[];
}
interface Manifest {
  kind: string;
  metadata: { name: string };
  data?: Record<string, unknown>;
  stringData?: Record<string, unknown>;
  spec?: {
    selector?: { matchLabels?: Record<string, string> } & Record<string, string>;
    template?: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    ports?: { name: string; port: number; targetPort: string | number }[];
    scaleTargetRef?: { kind: string; name: string };
  };
}
interface Kustomization {
  resources?: string[];
  patches?: { path?: string }[];
}

/** Every .yaml file under deploy/kubernetes, relative to the repository root. */
function manifestFiles(): string[] {
  const root = path.join(REPO_ROOT, KUBERNETES);
  return (fs.readdirSync(root, { recursive: true }) as string[])
    .filter((file) => /\.ya?ml$/.test(file))
    .map((file) => path.join(KUBERNETES, file))
    .sort();
}

const FILES = manifestFiles();
const KUSTOMIZATIONS = FILES.filter((file) => path.basename(file) === 'kustomization.yaml');
const MANIFESTS: { file: string; manifest: Manifest }[] = FILES.filter(
  (file) => !KUSTOMIZATIONS.includes(file),
).flatMap((file) => yamlDocuments(file).map((manifest) => ({ file, manifest: manifest as Manifest })));
const ofKind = (kind: string): Manifest[] => MANIFESTS.filter((m) => m.manifest.kind === kind).map((m) => m.manifest);
const DEPLOYMENTS = ofKind('Deployment');

/** A ConfigMap's data as the cluster gets it: the base with every overlay patch of the same name merged in. */
function configMap(name: string): Record<string, string> {
  return Object.assign(
    {},
    ...ofKind('ConfigMap')
      .filter((c) => c.metadata.name === name)
      .map((c) => stringMap(c.data)),
  );
}

/** The environment a container starts with: its ConfigMaps, then its own `env` entries over them. */
function environmentOf(container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? [])
    if (source.configMapRef) Object.assign(env, configMap(source.configMapRef.name));
  for (const entry of container.env ?? []) if (entry.value !== undefined) env[entry.name] = entry.value;
  return env;
}

function containerOf(deployment: Manifest): Container {
  const containers = deployment.spec!.template!.spec.containers;
  assert.equal(containers.length, 1, `${deployment.metadata.name} runs one container`);
  return containers[0];
}

function deploymentWithRole(role: string): Manifest {
  const found = DEPLOYMENTS.filter((d) => environmentOf(containerOf(d)).APP_ROLE === role);
  assert.equal(found.length, 1, `one Deployment with APP_ROLE=${role}`);
  return found[0];
}

/** Bytes of a Kubernetes quantity in binary units (`6Gi`, `512Mi`). */
function bytesOf(quantity: string): number {
  const match = /^(\d+)(Ki|Mi|Gi|Ti)?$/.exec(quantity);
  assert.ok(match, `a binary quantity: ${quantity}`);
  return Number(match[1]) * 1024 ** ['', 'Ki', 'Mi', 'Gi', 'Ti'].indexOf(match[2] ?? '');
}

const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

describe('Kubernetes manifests (deploy/kubernetes)', () => {
  it('parses every manifest, with an API and a worker Deployment', () => {
    assert.ok(MANIFESTS.length >= 8, `only ${MANIFESTS.length} manifests`);
    for (const { file, manifest } of MANIFESTS)
      assert.ok(manifest.kind && manifest.metadata?.name, `${file} names its kind`);
    assert.equal(deploymentWithRole('api').metadata.name, 'modelforge-api');
    assert.equal(deploymentWithRole('worker').metadata.name, 'modelforge-worker');
  });

  it('each kustomization lists every file beside it, and each entry exists', () => {
    assert.ok(KUSTOMIZATIONS.length >= 2, 'a base and an overlay');
    for (const file of KUSTOMIZATIONS) {
      const dir = path.dirname(file);
      const kustomization = yamlDocuments(file)[0] as Kustomization;
      const listed = [...(kustomization.resources ?? []), ...(kustomization.patches ?? []).map((p) => p.path ?? '')];
      for (const entry of listed) {
        const target = path.join(REPO_ROOT, dir, entry);
        const exists = entry.endsWith('.yaml')
          ? fs.existsSync(target)
          : fs.existsSync(path.join(target, 'kustomization.yaml'));
        assert.ok(exists, `${file} lists ${entry}, which does not exist`);
      }
      const beside = fs
        .readdirSync(path.join(REPO_ROOT, dir))
        .filter((name) => /\.ya?ml$/.test(name) && name !== 'kustomization.yaml');
      for (const name of beside) assert.ok(listed.includes(name), `${file} does not list ${name}`);
    }
  });

  it('every environment variable name is one the configuration schema (or the AWS SDK) reads', () => {
    const known = knownVariables();
    const names: [string, string][] = [];
    for (const { file, manifest } of MANIFESTS) {
      if (manifest.kind === 'ConfigMap' || manifest.kind === 'Secret') {
        for (const key of Object.keys({ ...manifest.data, ...manifest.stringData })) names.push([file, key]);
      }
      for (const container of manifest.spec?.template?.spec.containers ?? [])
        for (const entry of container.env ?? []) names.push([file, entry.name]);
    }
    assert.ok(names.length >= 20, `only ${names.length} variables found`);
    const unknown = names.filter(([, name]) => !known.has(name)).map(([file, name]) => `${file}: ${name}`);
    assert.deepEqual(unknown, [], 'variables the app does not read');
  });

  it("each container's settings (its ConfigMaps and env; the Secret holds placeholders) pass the app's validation", () => {
    for (const deployment of DEPLOYMENTS)
      assert.doesNotThrow(() => loadEnvironment(environmentOf(containerOf(deployment))), deployment.metadata.name);
  });

  it('every ConfigMap and Secret a container reads is defined; the Secret holds the credentials', () => {
    const defined = new Set(MANIFESTS.map(({ manifest }) => `${manifest.kind}/${manifest.metadata.name}`));
    for (const deployment of DEPLOYMENTS) {
      for (const source of containerOf(deployment).envFrom ?? []) {
        const ref = source.configMapRef ? `ConfigMap/${source.configMapRef.name}` : `Secret/${source.secretRef!.name}`;
        assert.ok(defined.has(ref), `${deployment.metadata.name} reads ${ref}, which no manifest defines`);
      }
    }
    const secretKeys = ofKind('Secret').flatMap((s) => Object.keys({ ...s.data, ...s.stringData }));
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'JWT_SECRET', 'ADMIN_API_KEY', 'AWS_SECRET_ACCESS_KEY'])
      assert.ok(secretKeys.includes(name), `the Secret holds ${name}`);
    const configKeys = ofKind('ConfigMap').flatMap((c) => Object.keys(c.data ?? {}));
    for (const name of [
      'DATABASE_URL',
      'REDIS_URL',
      'JWT_SECRET',
      'ADMIN_API_KEY',
      'METRICS_TOKEN',
      'AWS_SECRET_ACCESS_KEY',
    ])
      assert.ok(!configKeys.includes(name), `${name} is a secret, not ConfigMap data`);
  });

  it('replicas share nothing local: the S3 store on PostgreSQL and Redis', () => {
    for (const deployment of DEPLOYMENTS) {
      const env = environmentOf(containerOf(deployment));
      assert.equal(env.ARTIFACT_STORE, 's3', `${deployment.metadata.name} uses ARTIFACT_STORE=s3`);
      assert.ok(env.S3_BUCKET, `${deployment.metadata.name} names a bucket`);
    }
  });

  it("probes call HealthController's routes on the container's HTTP port, which is the PORT it gets", () => {
    const routes = healthRoutes();
    assert.deepEqual(routes, { live: '/health/live', ready: '/health/ready' });
    for (const deployment of DEPLOYMENTS) {
      const container = containerOf(deployment);
      const env = environmentOf(container);
      const http = container.ports?.find((p) => p.name === 'http');
      assert.equal(
        http?.containerPort,
        Number(settingOf(env, 'PORT')),
        `${deployment.metadata.name}: http port = PORT`,
      );
      const probes = { startupProbe: routes.live, livenessProbe: routes.live, readinessProbe: routes.ready } as const;
      for (const [kind, route] of Object.entries(probes)) {
        const probe = container[kind as keyof typeof probes];
        assert.equal(probe?.httpGet?.path, route, `${deployment.metadata.name} ${kind} path`);
        assert.ok(
          probe.httpGet.port === 'http' || probe.httpGet.port === http.containerPort,
          `${deployment.metadata.name} ${kind} port`,
        );
      }
    }
  });

  it("the API's gRPC port is GRPC_PORT, and its Service targets the API pods' named ports", () => {
    const api = deploymentWithRole('api');
    const container = containerOf(api);
    const grpc = container.ports?.find((p) => p.name === 'grpc');
    assert.equal(grpc?.containerPort, Number(settingOf(environmentOf(container), 'GRPC_PORT')));
    const services = ofKind('Service');
    assert.ok(services.length > 0);
    const podLabels = api.spec!.template!.metadata.labels;
    const worker = deploymentWithRole('worker').spec!.template!.metadata.labels;
    for (const service of services) {
      const selector = service.spec!.selector as Record<string, string>;
      assert.ok(matches(selector, podLabels), `${service.metadata.name} selects the API pods`);
      assert.ok(!matches(selector, worker), `${service.metadata.name} does not select workers (they answer 404)`);
      for (const port of service.spec!.ports ?? [])
        assert.ok(
          container.ports?.some((p) => p.name === port.targetPort || p.containerPort === port.targetPort),
          `${service.metadata.name} port ${port.name} targets a container port`,
        );
    }
    assert.deepEqual(services.flatMap((s) => s.spec!.ports!.map((p) => p.name)).sort(), ['grpc', 'http']);
  });

  it('terminationGracePeriodSeconds exceeds SHUTDOWN_DRAIN_MS + SHUTDOWN_GRACE_MS; the drain outlasts a readiness failure', () => {
    for (const deployment of DEPLOYMENTS) {
      const pod = deployment.spec!.template!.spec;
      const env = environmentOf(containerOf(deployment));
      const graceMs = (pod.terminationGracePeriodSeconds ?? 30) * 1000;
      assert.ok(graceMs > shutdownMs(env), `${deployment.metadata.name}: ${graceMs} ms > ${shutdownMs(env)} ms`);
      // The pod keeps serving while SIGTERM's 503 readiness takes it out of the endpoints.
      const readiness = containerOf(deployment).readinessProbe!;
      const noticedMs = (readiness.periodSeconds ?? 10) * (readiness.failureThreshold ?? 3) * 1000;
      assert.ok(Number(settingOf(env, 'SHUTDOWN_DRAIN_MS')) >= noticedMs, `${deployment.metadata.name} drain`);
    }
  });

  it('pods run non-root on a read-only root filesystem, writable only at DATA_DIR (an emptyDir)', () => {
    for (const deployment of DEPLOYMENTS) {
      const pod = deployment.spec!.template!.spec;
      assert.equal(pod.securityContext?.runAsNonRoot, true, `${deployment.metadata.name} runAsNonRoot`);
      assert.ok((pod.securityContext?.runAsUser ?? 0) > 0, `${deployment.metadata.name} runAsUser`);
      const container = containerOf(deployment);
      assert.equal(
        container.securityContext?.readOnlyRootFilesystem,
        true,
        `${deployment.metadata.name} read-only root`,
      );
      assert.equal(container.securityContext?.allowPrivilegeEscalation, false);
      for (const volume of pod.volumes ?? [])
        assert.ok(volume.emptyDir, `${deployment.metadata.name} ${volume.name} is an emptyDir`);
      const mounts = (container.volumeMounts ?? []).map((m) => m.mountPath);
      assert.deepEqual(mounts, [settingOf(environmentOf(container), 'DATA_DIR')], `${deployment.metadata.name} mounts`);
    }
  });

  it("the data emptyDir holds the artifact cache, and on the API every upload's staging at once", () => {
    // The app's free-disk check sees the node's disk, not sizeLimit; a pod past sizeLimit is evicted.
    for (const deployment of DEPLOYMENTS) {
      const container = containerOf(deployment);
      const env = environmentOf(container);
      assert.ok(env.ARTIFACT_CACHE_MAX_BYTES, `${deployment.metadata.name} bounds its artifact cache`);
      let needed = Number(env.ARTIFACT_CACHE_MAX_BYTES);
      if (env.APP_ROLE !== 'worker')
        needed += Number(settingOf(env, 'MAX_CONCURRENT_UPLOADS')) * Number(settingOf(env, 'MAX_MODEL_BYTES'));
      const volume = deployment.spec!.template!.spec.volumes?.find((v) => v.name === container.volumeMounts?.[0]?.name);
      const limit = bytesOf(volume?.emptyDir?.sizeLimit ?? '0');
      assert.ok(limit > needed, `${deployment.metadata.name}: sizeLimit ${limit} > ${needed} bytes`);
    }
  });

  it('the autoscaler scales the API; each disruption budget covers one Deployment', () => {
    const hpas = ofKind('HorizontalPodAutoscaler');
    assert.equal(hpas.length, 1);
    assert.deepEqual(hpas[0].spec!.scaleTargetRef, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deploymentWithRole('api').metadata.name,
    });
    const budgets = ofKind('PodDisruptionBudget');
    assert.equal(budgets.length, 2);
    for (const budget of budgets) {
      const selector = budget.spec!.selector!.matchLabels!;
      const covered = DEPLOYMENTS.filter((d) => matches(selector, d.spec!.template!.metadata.labels));
      assert.equal(covered.length, 1, `${budget.metadata.name} selects one Deployment's pods`);
    }
  });
});
