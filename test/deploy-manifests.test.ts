/**
 * deploy/: the Kubernetes manifests and the Dockerfile, read as data and checked against the code they start:
 * every seqbatch command line in them parses with the CLI's own commander program (so each flag is a real flag
 * of that command, with a valid value), every probe path is a GET route of a real server built on the bundled
 * demo model, probes and ports point at the port the server is told to listen on, readiness is /ready and
 * liveness /health, the serve pods wait in preStop and are given longer than that wait plus the server's drain,
 * and the image runs as a non-root user. (No container engine runs here: the image itself is not built.)
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { buildProgram } from '../src/cli/main.js';
import { defaultModelDir } from '../src/cli/default-model.js';
import { STOP_NOW_GRACE_MS } from '../src/server/server.js';
import { createServer, type SeqbatchServer } from '../src/server/index.js';
import { loadServeEngine } from '../src/server/engine-pipelines.js';
import { REPO_ROOT } from './helpers/shared.js';

const DEPLOY = join(REPO_ROOT, 'deploy');
const K8S = join(DEPLOY, 'k8s');

interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  args?: string[];
  command?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: Array<{ name: string; value?: string }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: { command: string[] } } };
  resources?: { requests?: { cpu?: string; memory?: string }; limits?: { memory?: string } };
}
interface Deployment {
  kind: string;
  metadata: { name: string };
  spec: {
    template: {
      spec: {
        terminationGracePeriodSeconds?: number;
        securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
        containers: Container[];
      };
    };
  };
}

const documents = readdirSync(K8S)
  .filter((file) => file.endsWith('.yaml'))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(join(K8S, file), 'utf8')).map((doc) => {
      assert.deepEqual(doc.errors, [], `${file} parses as YAML`);
      return { file, value: doc.toJS() as Deployment };
    }),
  );
const deployments = documents.filter((d) => d.value.kind === 'Deployment');
const containers = deployments.flatMap((d) =>
  d.value.spec.template.spec.containers.map((c) => ({ file: d.file, deployment: d.value, container: c })),
);

/** The subcommand an argument list names (`jobs worker ...` → the worker command), and the flags after it. */
function commandOf(program: Command, args: readonly string[]): { command: Command; rest: string[] } {
  let command = program;
  let i = 0;
  for (; i < args.length; i++) {
    const sub = command.commands.find((c) => c.name() === args[i]);
    if (sub === undefined) break;
    command = sub;
  }
  assert.notEqual(command, program, `"${args.join(' ')}" names a seqbatch command`);
  return { command, rest: args.slice(i) };
}

/** Parses a seqbatch command line with the real program, the command's action replaced by a no-op. */
async function parseSeqbatch(args: readonly string[], where: string): Promise<Record<string, unknown>> {
  const program = await buildProgram();
  const { command, rest } = commandOf(program, args);
  for (const arg of rest.filter((a) => a.startsWith('--'))) {
    const flag = arg.split('=')[0]!;
    assert.ok(
      command.options.some((option) => option.long === flag || option.long === flag.replace(/^--no-/, '--')),
      `${where}: ${flag} is a flag of "seqbatch ${command.name()}"`,
    );
  }
  let parsed: Record<string, unknown> | undefined;
  command.action(function (this: Command) {
    parsed = this.opts();
  });
  for (const each of [program, command]) each.exitOverride().configureOutput({ writeErr: () => {} });
  await program.parseAsync(['node', 'seqbatch', ...args]);
  assert.ok(parsed !== undefined, `${where}: "${args.join(' ')}" ran its command`);
  return parsed;
}

let server: SeqbatchServer;
before(async () => {
  server = createServer({ engine: await loadServeEngine(defaultModelDir()) });
  await server.app.ready();
});
after(async () => server?.close());

test('the manifests hold a serve Deployment and a worker Deployment', async () => {
  const program = await buildProgram();
  const commands = containers.map(({ container }) => commandOf(program, container.args ?? []).command);
  assert.ok(commands.some((c) => c.name() === 'serve'));
  assert.ok(commands.some((c) => c.name() === 'worker' && c.parent?.name() === 'jobs'));
});

test('every seqbatch command line in deploy/ parses with the CLI', async () => {
  for (const { file, container } of containers) {
    assert.equal(container.command, undefined, `${file}: ${container.name} keeps the image's entrypoint`);
    await parseSeqbatch(container.args ?? [], `${file}: ${container.name}`);
  }
  const dockerfile = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
  const entrypoint = JSON.parse(/^ENTRYPOINT (.+)$/m.exec(dockerfile)![1]!) as string[];
  assert.deepEqual(entrypoint.slice(-1), ['/app/bin/seqbatch.js']);
  const cmd = JSON.parse(/^CMD (.+)$/m.exec(dockerfile)![1]!) as string[];
  const options = await parseSeqbatch(cmd, 'Dockerfile CMD');
  assert.equal(
    /^EXPOSE (\d+)$/m.exec(dockerfile)![1],
    options.port,
    'EXPOSE is the port the server listens on',
  );
  assert.equal(options.host, '0.0.0.0', 'the server listens beyond the container');
  const user = /^USER (\S+)$/m.exec(dockerfile)?.[1];
  assert.ok(user !== undefined && user !== 'root' && user !== '0', 'the image runs as a non-root user');
  assert.match(
    dockerfile,
    /^COPY --from=build \/src\/models models$/m,
    'the bundled demo model is in the image',
  );
});

test('probes name real server routes on the port the server listens on', async () => {
  const program = await buildProgram();
  for (const { file, container, deployment } of containers) {
    const probes = [container.readinessProbe, container.livenessProbe, container.startupProbe].filter(
      (p): p is Probe => p !== undefined,
    );
    if (commandOf(program, container.args ?? []).command.name() !== 'serve') {
      assert.deepEqual(probes, [], `${file}: only the server has HTTP probes`);
      continue;
    }
    assert.equal(container.readinessProbe?.httpGet?.path, '/ready');
    assert.equal(container.livenessProbe?.httpGet?.path, '/health');
    const options = await parseSeqbatch(container.args!, file);
    for (const probe of probes) {
      const path = probe.httpGet!.path;
      assert.ok(
        server.app.hasRoute({ method: 'GET', url: path }),
        `${file}: ${path} is a GET route of the server`,
      );
      const port = probe.httpGet!.port;
      const containerPort =
        typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort;
      assert.equal(
        String(containerPort),
        options.port,
        `${file}: the ${path} probe uses the server's --port`,
      );
    }
    const preStop = container.lifecycle?.preStop?.sleep?.seconds;
    assert.ok(preStop !== undefined && preStop > 0, `${file}: preStop waits before SIGTERM`);
    const grace = deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30;
    assert.ok(
      grace >= preStop + STOP_NOW_GRACE_MS / 1000 + 10,
      `${file}: terminationGracePeriodSeconds ${grace} covers preStop ${preStop}s and the drain`,
    );
  }
});

test('pods run as non-root with memory requests, and workers reach Redis', async () => {
  const program = await buildProgram();
  for (const { file, container, deployment } of containers) {
    const security = deployment.spec.template.spec.securityContext;
    assert.equal(security?.runAsNonRoot, true, `${file}: runAsNonRoot`);
    assert.match(container.resources?.requests?.memory ?? '', /^\d+Mi$/, `${file}: a memory request`);
    if (commandOf(program, container.args ?? []).command.name() === 'worker') {
      assert.ok(
        container.env?.some((e) => e.name === 'REDIS_URL'),
        `${file}: REDIS_URL is set`,
      );
    }
  }
});
