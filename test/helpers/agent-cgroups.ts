import { existsSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

const unified = () => existsSync('/sys/fs/cgroup/cgroup.controllers');

/** An agent's own cgroups (`…/openassist-ID`, holding `agent` and `runs`), in every hierarchy that has one. */
export function agentCgroups(pid: number): string[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((line) => /^\d+:([^:]*):(.*\/openassist-mi-[0-9a-f]+)\/agent$/.exec(line))
    .filter((match) => match !== null)
    .map(([, controllers = '', path = '']) =>
      join('/sys/fs/cgroup', unified() ? '' : (controllers.split(',')[0] ?? ''), path),
    )
    .filter((dir) => existsSync(dir));
}

/** Removes an agent's cgroups once it has stopped (it leaves them, as a stopped service's are left to its manager). */
export function removeAgentCgroups(groups: readonly string[]): void {
  for (const group of groups) {
    for (const dir of [join(group, 'agent'), join(group, 'runs'), group]) rmdirSync(dir);
  }
}

/** The memory limit file of the cgroup a process is in (cgroup v2's memory.max, else v1's), and the cgroup. */
export function memoryLimitFile(pid: number): { path: string; file: string } {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  if (unified()) {
    const path = lines.find((line) => line.startsWith('0::'))?.slice(3) ?? '';
    return { path, file: join('/sys/fs/cgroup', path, 'memory.max') };
  }
  const path = lines.find((line) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(line))?.split(':')[2] ?? '';
  return { path, file: join('/sys/fs/cgroup/memory', path, 'memory.limit_in_bytes') };
}
