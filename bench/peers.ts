import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../test/helpers/deadline.js';
import { summary } from './stats.js';

const run = promisify(execFile);

export interface PeerResult {
  readonly peer: string;
  readonly runs: number;
  readonly wallMs: { p50: number; p99: number; max: number };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

/** Wall time of a whole command, from spawn to exit, `runs` times. */
async function time(command: string, args: string[], env: NodeJS.ProcessEnv, runs: number) {
  const walls: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const { stdout } = await run(command, args, { env });
    if (!stdout.includes('hi')) throw new Error(`${command}: unexpected output ${stdout}`);
    walls.push(performance.now() - started);
  }
  return summary(walls);
}

/** An sshd on a loopback port with throwaway keys, and the ssh_config that reaches it as `bench`. */
export interface LoopbackSsh {
  readonly sshConfig: string;
}

/**
 * Runs `use` with an sshd of its own on a loopback port (no connection sharing), stopped after;
 * undefined without sshd installed.
 */
export async function withLoopbackSshd<T>(use: (ssh: LoopbackSsh) => Promise<T>): Promise<T | undefined> {
  if (!existsSync('/usr/sbin/sshd')) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'openassist-peers-'));
  const port = await freePort();
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host')]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id')]);
  await run('cp', [join(dir, 'id.pub'), join(dir, 'authorized_keys')]);
  await writeFile(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      // scp speaks SFTP since OpenSSH 9.0.
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  const sshConfig = join(dir, 'ssh_config');
  await writeFile(
    sshConfig,
    [
      'Host bench',
      '  HostName 127.0.0.1',
      `  Port ${port}`,
      '  User root',
      `  IdentityFile ${join(dir, 'id')}`,
      '  StrictHostKeyChecking no',
      '  UserKnownHostsFile /dev/null',
      '  LogLevel ERROR',
      '  ControlMaster no',
      '',
    ].join('\n'),
  );
  await mkdir('/run/sshd', { recursive: true });
  const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: 'ignore' });
  try {
    await waitFor('sshd', async () =>
      run('ssh', ['-F', sshConfig, 'bench', 'true']).then(
        () => true,
        () => undefined,
      ),
    );
    return await use({ sshConfig });
  } finally {
    sshd.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * `echo hi` on this machine the ways people do it without OpenAssist: ssh to an sshd on a
 * loopback port with a throwaway key (no connection sharing), pdsh over that ssh, Ansible with
 * its local connection and over that ssh. A peer whose tool is missing is skipped, with a line.
 */
export async function measurePeers(quick: boolean, say: (line: string) => void): Promise<PeerResult[]> {
  const results = await withLoopbackSshd(async ({ sshConfig }) => {
    const results: PeerResult[] = [];
    const env = {
      ...process.env,
      ANSIBLE_HOST_KEY_CHECKING: 'False',
      ANSIBLE_PYTHON_INTERPRETER: 'auto_silent',
    };
    const peers: [string, string, string[], NodeJS.ProcessEnv, number][] = [
      ['ssh', 'ssh', ['-F', sshConfig, 'bench', 'echo hi'], env, quick ? 5 : 20],
      [
        'pdsh (ssh)',
        'pdsh',
        ['-w', 'bench', 'echo hi'],
        { ...env, PDSH_RCMD_TYPE: 'ssh', PDSH_SSH_ARGS: `-F ${sshConfig} %h` },
        quick ? 5 : 15,
      ],
      [
        'ansible -c local',
        'ansible',
        ['localhost', '-i', 'localhost,', '-c', 'local', '-m', 'shell', '-a', 'echo hi'],
        env,
        quick ? 2 : 7,
      ],
      [
        'ansible (ssh)',
        'ansible',
        ['all', '-i', 'bench,', '-m', 'shell', '-a', 'echo hi'],
        { ...env, ANSIBLE_SSH_ARGS: `-F ${sshConfig} -o ControlMaster=no -o ControlPersist=no` },
        quick ? 2 : 5,
      ],
    ];
    for (const [peer, command, args, peerEnv, runs] of peers) {
      const found = await run('sh', ['-c', `command -v ${command}`]).then(
        () => true,
        () => false,
      );
      if (!found) {
        say(`${peer} skipped: ${command} is not installed`);
        continue;
      }
      results.push({ peer, runs, wallMs: await time(command, args, peerEnv, runs) });
    }
    return results;
  });
  if (!results) say('peers skipped: no sshd (apt-get install openssh-server pdsh ansible)');
  return results ?? [];
}
