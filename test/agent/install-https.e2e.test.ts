import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgentExecutable } from '../../src/agent/executable/build.js';
import { makeCertificates } from '../helpers/certificates.js';
import { Ecs, ecsHttpsClient } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { createTestRoot, type TestRoot } from '../helpers/test-root.js';

// install.sh against an https:// server whose certificate a private CA signs (`--ca FILE`), with
// curl in a chroot without Node.js; and busybox wget refused there, as it verifies no certificate.

const region = 'cn-hangzhou';
const unitPath = '/etc/systemd/system/openassist-agent.service';
const standIn = new URL('../fixtures/systemctl-stand-in.sh', import.meta.url);

let dir: string;
let ca: string;
let server: ServerProcess;
let sdk: InstanceType<typeof Ecs.default>;
let root: TestRoot;
let activation: { id: string; code: string };

const inRoot = (path: string): string => join(root.root, path);

/** GET over https trusting the test CA only. */
const fetchText = (url: string): Promise<string> =>
  new Promise((resolve, reject) => {
    get(url, { ca }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      response.on('end', () => resolve(text));
    }).on('error', reject);
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'openassist-install-https-'));
  const files = makeCertificates(dir);
  ca = await readFile(files.ca, 'utf8');
  const built = await buildAgentExecutable({ outDir: join(dir, 'agent') });
  server = await startServerProcess({
    env: {
      OPENASSIST_TLS_CERT: files.cert,
      OPENASSIST_TLS_KEY: files.key,
      OPENASSIST_AGENT_DIR: join(dir, 'agent'),
    },
  });
  sdk = ecsHttpsClient(server.endpoint, ca, server.accessKeyId, server.accessKeySecret);
  const { body } = await sdk.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
  activation = { id: body?.activationId ?? '', code: body?.activationCode ?? '' };
  root = await createTestRoot(join(dir, 'root'), {
    files: { '/usr/bin/curl': '/usr/bin/curl', '/root/ca.pem': files.ca },
    librariesOf: [built.path],
  });
  await copyFile(standIn, inRoot('/usr/bin/systemctl'));
  await root.run('/bin/sh', ['-c', 'chmod 755 /usr/bin/systemctl && mkdir -p /run/systemd/system /var/log']);
}, 180_000);

afterAll(async () => {
  await root?.dispose();
  expect(await server?.stop()).toBe(0);
  await rm(dir, { recursive: true, force: true });
});

describe('install.sh from an https:// server with a private CA', { timeout: 120_000 }, () => {
  it('installs with curl and --ca; the agent trusts that CA too', async () => {
    const install = await root.run(
      '/bin/sh',
      [
        '-c',
        `curl -fsSL --cacert /root/ca.pem ${server.url}/agent/install.sh | ` +
          `OPENASSIST_ACTIVATION_CODE="$CODE" sh -s -- --activation-id ${activation.id} --ca /root/ca.pem`,
      ],
      { env: { CODE: activation.code } },
    );
    expect(install.status, install.stdout + install.stderr).toBe(0);
    const instanceId = /connected as (mi-[0-9a-f]+)/.exec(install.stdout)?.[1];
    const { body } = await sdk.describeManagedInstances(
      new Ecs.DescribeManagedInstancesRequest({ regionId: region, activationId: activation.id }),
    );
    expect(body?.instances?.map((instance) => instance.instanceId)).toEqual([instanceId]);
    expect(await readFile(inRoot('/var/lib/openassist/ca.pem'), 'utf8')).toBe(ca);
    expect(await readFile(inRoot(unitPath), 'utf8')).toContain(
      `\nExecStart=/usr/local/bin/openassist-agent --server ${server.url} --state-dir /var/lib/openassist --ca /var/lib/openassist/ca.pem `,
    );
  });

  it('refuses busybox wget for https, which would not verify the server, and changes nothing', async () => {
    const installed = await readFile(inRoot('/usr/local/bin/openassist-agent'));
    await rm(inRoot('/usr/bin/curl'));
    await writeFile(inRoot('/root/install.sh'), await fetchText(`${server.url}/agent/install.sh`));
    const refused = await root.run('/bin/sh', ['/root/install.sh', '--ca', '/root/ca.pem']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('busybox wget cannot verify an https server: install curl');
    expect((await readFile(inRoot('/usr/local/bin/openassist-agent'))).equals(installed)).toBe(true);
  });
});
