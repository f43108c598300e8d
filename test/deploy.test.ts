// deploy/: the Kubernetes manifests parse, their probes and ports are the ones Spindle serves (also
// checked live against a server started with the manifest's own configuration), the sizing rules
// hold, and the Dockerfile is the one the README describes.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.js';
import { parseAddress } from '../src/config/address.js';
import { OPTIONS } from '../src/config/options.js';
import { parseYamlDocuments } from './helpers/yaml-subset.js';
import { startSpindle, get, ROOT } from './helpers/spindle.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Obj = Record<string, any>;

const manifests = parseYamlDocuments(readFileSync(`${ROOT}deploy/kubernetes.yaml`, 'utf8')) as Obj[];
const byKind = (kind: string): Obj => {
  const found = manifests.filter((m) => m.kind === kind);
  assert.equal(found.length, 1, `one ${kind} in deploy/kubernetes.yaml`);
  return found[0]!;
};
const configMap = byKind('ConfigMap');
const deployment = byKind('Deployment');
const service = byKind('Service');
const pod = deployment.spec.template.spec as Obj;
const container = pod.containers[0] as Obj;

/** The Spindle configuration the pod runs: the ConfigMap's ini through the real config loader. */
function podConfig(): Obj {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-deploy-'));
  try {
    const ini = join(dir, 'spindle.ini');
    writeFileSync(ini, configMap.data['spindle.ini']);
    return loadConfig({ argv: ['--ini', ini], env: {} }).config as Obj;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const portOf = (name: string | number): number => {
  if (typeof name === 'number') return name;
  const p = (container.ports as Obj[]).find((x) => x.name === name);
  assert.ok(p, `container port named ${name}`);
  return p.containerPort as number;
};

const MI = 1024 * 1024;
function bytes(q: string): number {
  const m = /^(\d+)(Mi|Gi|M|G)?$/.exec(q);
  assert.ok(m, `a memory quantity: ${q}`);
  const unit = { Mi: MI, Gi: 1024 * MI, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

describe('deploy/kubernetes.yaml', () => {
  const config = podConfig();

  test('the manifests parse into a ConfigMap, a Deployment and a Service that fit together', () => {
    assert.equal(manifests.length, 3);
    assert.deepEqual(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels);
    assert.deepEqual(service.spec.selector, deployment.spec.template.metadata.labels);
    const mount = (container.volumeMounts as Obj[])[0]!;
    const volume = (pod.volumes as Obj[]).find((v) => v.name === mount.name)!;
    assert.equal(volume.configMap.name, configMap.metadata.name);
    const args = container.args as string[];
    assert.equal(args[args.indexOf('--ini') + 1], `${mount.mountPath}/spindle.ini`);
  });

  test('probes use the stats server port and the health paths Spindle serves', () => {
    assert.equal(config.statsHttp, true, 'stats-http must be on for HTTP probes');
    const stats = parseAddress(config.stats as string);
    assert.equal(stats.kind, 'tcp');
    const statsHelp = OPTIONS.find((o) => o.name === 'stats-http')!.help;
    const expected: Record<string, string> = { startupProbe: '/health/live', livenessProbe: '/health/live', readinessProbe: '/health/ready' };
    for (const [probe, path] of Object.entries(expected)) {
      const get = container[probe]?.httpGet as Obj;
      assert.ok(get, `${probe}.httpGet`);
      assert.equal(get.path, path, probe);
      assert.ok(statsHelp.includes(path), `the option table documents ${path} under stats-http`);
      assert.equal(portOf(get.port), stats.kind === 'tcp' ? stats.port : -1, `${probe} port = the stats port`);
    }
  });

  test('the Service targets the http-socket port and not the stats port', () => {
    const http = parseAddress((config.httpSocket as string[])[0]!);
    assert.equal(http.kind, 'tcp');
    const ports = service.spec.ports as Obj[];
    assert.equal(ports.length, 1);
    assert.equal(portOf(ports[0]!.targetPort), http.kind === 'tcp' ? http.port : -1);
  });

  test('the grace period covers preStop + worker-reload-mercy; memory fits processes x worker-heap-limit', () => {
    const preStop = container.lifecycle.preStop.exec.command as string[];
    assert.equal(preStop[0], 'sleep');
    const grace = pod.terminationGracePeriodSeconds as number;
    assert.ok(grace > Number(preStop[1]) + (config.workerReloadMercy as number),
      `terminationGracePeriodSeconds ${grace} > sleep ${preStop[1]} + worker-reload-mercy ${config.workerReloadMercy}`);
    const limit = bytes(container.resources.limits.memory as string);
    const heaps = (config.processes as number) * (config.workerHeapLimit as number) * MI;
    assert.ok(config.workerHeapLimit > 0, 'worker-heap-limit set (0 = V8 default, unbounded for sizing)');
    assert.ok(limit >= heaps + 128 * MI, `memory limit ${limit} >= processes x worker-heap-limit (${heaps}) + 128Mi`);
    assert.ok((config.reloadOnRss as number) < (config.workerHeapLimit as number), 'reload-on-rss recycles before the hard cap');
  });

  test('a server started with the pod configuration answers the probes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spindle-deploy-'));
    const ini = join(dir, 'spindle.ini');
    writeFileSync(ini, configMap.data['spindle.ini']);
    // Same file; only the addresses move to loopback ephemeral ports for the test.
    const s = await startSpindle([`${ROOT}examples/hello/app.mjs`, '--ini', ini, '--http-socket', '127.0.0.1:0', '--stats', '127.0.0.1:0']);
    try {
      const serving = s.lines.find((l) => l.event === 'SERVING')!;
      const statsUrl = String(serving.stats);
      assert.match(statsUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
      for (const path of ['/health/live', '/health/ready']) {
        const r = await get(`${statsUrl}${path}`);
        assert.equal(r.status, 200, `${path}: ${r.body.toString()}`);
      }
      assert.equal((await get(`${s.url}/`)).status, 200);
    } finally {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/Dockerfile', () => {
  const dockerfile = readFileSync(`${ROOT}deploy/Dockerfile`, 'utf8');
  const instr = (name: string) => dockerfile.split('\n').filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1).trim());

  test('slim Node LTS base, non-root user, SIGTERM, ports and config as in deploy/spindle.ini', () => {
    for (const from of instr('FROM')) assert.match(from, /^node:(20|22|24)-slim\b/);
    const user = instr('USER').at(-1);
    assert.ok(user && user !== 'root' && user !== '0', `USER ${user}`);
    assert.deepEqual(instr('STOPSIGNAL'), ['SIGTERM']);
    const image = loadConfig({ argv: ['--ini', `${ROOT}deploy/spindle.ini`], env: {} }).config as Obj;
    const exposed = instr('EXPOSE').join(' ').split(/\s+/).map(Number);
    for (const addr of [(image.httpSocket as string[])[0]!, image.stats as string]) {
      const a = parseAddress(addr);
      assert.ok(a.kind === 'tcp' && exposed.includes(a.port), `EXPOSE ${a.kind === 'tcp' ? a.port : addr}`);
    }
    assert.equal(image.statsHttp, true);
    assert.ok(instr('COPY').includes('deploy/spindle.ini /etc/spindle/spindle.ini'));
    assert.match(instr('CMD').at(-1)!, /"--ini", "\/etc\/spindle\/spindle\.ini"/);
    assert.match(dockerfile, /npm ci --omit=dev/);
  });
});

describe('the YAML subset parser', () => {
  test('maps, lists of maps, literal blocks, flow lists, scalars; anything else is refused', () => {
    const [doc] = parseYamlDocuments('a: 1\nb:\n  - name: x\n    v: "2"\n  - plain\nc: |\n  line 1\n\n  line 2\nd: ["p", "q"]  # c\ne: true\n');
    assert.deepEqual(doc, { a: 1, b: [{ name: 'x', v: '2' }, 'plain'], c: 'line 1\n\nline 2\n', d: ['p', 'q'], e: true });
    assert.throws(() => parseYamlDocuments('a: &anchor 1\n'), /YAML line 1/);
    assert.throws(() => parseYamlDocuments('a: >\n  folded\n'), /YAML line 1/);
    assert.throws(() => parseYamlDocuments('a: 1\na: 2\n'), /duplicate key a/);
  });
});
