import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';

/** The passwd fields a script run needs. */
export interface RunAsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
}

// NSS backends (LDAP, sssd) can stall; a lookup must not hang a run forever.
const getentTimeoutMs = 10_000;

/** Parses one /etc/passwd-format line (`name:pw:uid:gid:gecos:home:shell`). */
export function parsePasswdLine(line: string): RunAsUser | undefined {
  const fields = line.trim().split(':');
  if (fields.length < 7) return undefined;
  const [name, , uidText = '', gidText = '', , home, shell] = fields;
  // Digits only: Number('') is 0, and an empty uid field must not read as root.
  if (!name || !/^\d+$/.test(uidText) || !/^\d+$/.test(gidText)) return undefined;
  return { name, uid: Number(uidText), gid: Number(gidText), home: home || '/', shell: shell || '/bin/sh' };
}

let agentUser: RunAsUser | undefined;

/**
 * The user the agent itself runs as; its home is the process HOME when set (os.homedir() reads it,
 * as a shell would), else the passwd entry's. Read once: userInfo() reads the passwd database.
 */
export function currentUser(): RunAsUser {
  if (agentUser) return agentUser;
  const info = userInfo();
  agentUser = {
    name: info.username,
    uid: info.uid,
    gid: info.gid,
    home: homedir() || info.homedir,
    shell: info.shell || '/bin/sh',
  };
  return agentUser;
}

/**
 * Looks a user up by name through NSS (`getent passwd`), so LDAP/sssd users resolve too; falls back
 * to /etc/passwd where getent is missing. Undefined when the user does not exist.
 */
export async function lookupUser(name: string): Promise<RunAsUser | undefined> {
  // A leading '-' would read as an option, and getent treats an all-digit key as a uid.
  if (name.startsWith('-') || /^\d+$/.test(name) || /[:\s\0]/.test(name)) return undefined;
  const result = await getentEntry('passwd', name);
  if (result === 'missing-tool') return fromPasswdFile(name);
  return result === undefined ? undefined : parsePasswdLine(result);
}

function getentEntry(
  database: 'passwd' | 'group',
  name: string,
): Promise<string | undefined | 'missing-tool'> {
  return new Promise((resolve, reject) => {
    execFile('getent', [database, name], { timeout: getentTimeoutMs }, (error, stdout) => {
      if (!error) return resolve(stdout.split('\n')[0]);
      // `code` is the errno name when getent could not start, else its exit status.
      const code = error.code;
      if (code === 'ENOENT') return resolve('missing-tool');
      if (code === 2) return resolve(undefined); // getent's "key not found"
      reject(new Error(`getent ${database} failed: ${error.message}`));
    });
  });
}

async function fromPasswdFile(name: string): Promise<RunAsUser | undefined> {
  const text = await readFile('/etc/passwd', 'utf8');
  for (const line of text.split('\n')) {
    const user = parsePasswdLine(line);
    if (user?.name === name) return user;
  }
  return undefined;
}

/** Parses one /etc/group-format line (`name:pw:gid:members`) into its name and gid. */
export function parseGroupLine(line: string): { name: string; gid: number } | undefined {
  const [name, , gidText = ''] = line.trim().split(':');
  if (!name || !/^\d+$/.test(gidText)) return undefined;
  return { name, gid: Number(gidText) };
}

/**
 * Looks a group up by name through NSS (`getent group`), falling back to /etc/group where getent
 * is missing, as `lookupUser` does. Undefined when the group does not exist.
 */
export async function lookupGroup(name: string): Promise<{ name: string; gid: number } | undefined> {
  if (name.startsWith('-') || /^\d+$/.test(name) || /[:\s\0]/.test(name)) return undefined;
  const result = await getentEntry('group', name);
  if (result === 'missing-tool') {
    const text = await readFile('/etc/group', 'utf8');
    return text
      .split('\n')
      .map(parseGroupLine)
      .find((group) => group?.name === name);
  }
  return result === undefined ? undefined : parseGroupLine(result);
}
