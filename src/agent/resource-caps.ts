import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';
import { errnoCode } from '../guards.js';
import type { ResourceCaps, ResourceUsageReport } from '../protocol/messages.js';

/**
 * The caps the agent puts on itself (ResourceUsageConfig: docs/agent-protocol.md, "Resource caps"), applied through a
 * cgroup of its own. Beside the cgroup it starts in, it makes `NAME/agent`, which holds the agent
 * and gets the caps, and `NAME/runs`, which holds the scripts it runs (moved there before they
 * start, uncapped): the caps are the agent's own, as Alibaba's are the agent's main process, and
 * cgroup v2 allows processes only in leaves once controllers are enabled below a group.
 *
 * cgroup v2 (`/sys/fs/cgroup` unified): `memory.max` and `cpu.max`, in a delegated systemd unit
 * (`Delegate=yes`, `DelegateSubgroup=agent`) or at the namespace's root (`groupOnV2`). cgroup v1 (the
 * `memory` and `cpu` hierarchies): `memory.limit_in_bytes`, `cpu.cfs_quota_us`. Where neither
 * can be written the caps are reported `unavailable` with the reason, and nothing pretends.
 */

type Report = Omit<ResourceUsageReport, 'type'>;

export interface CapperOptions {
  /** Names the cgroup (one per agent, so agents sharing a starting cgroup stay apart). */
  readonly name: string;
  readonly pid: number;
  /** `/sys/fs/cgroup`; a test points it at a directory of its own. */
  readonly root?: string;
  /** `/proc/self/cgroup`'s text. */
  readonly selfCgroup?: () => string;
  readonly platform?: NodeJS.Platform;
  /** The agent's resident memory now (`process.memoryUsage.rss()`). */
  readonly rssBytes?: () => number;
  /** Why this agent caps nothing whatever it is asked (it shares its process with the server). */
  readonly refused?: string;
}

/** One controller's place: the hierarchy's mount and the agent's group in it (`…/NAME`). */
interface Place {
  readonly mount: string;
  /** The group's path as the hierarchy names it, `/…/NAME`. */
  readonly group: string;
}

interface Layout {
  readonly mechanism: 'cgroup2' | 'cgroup1';
  /** v2: one place; v1: memory and cpu. */
  readonly memory: Place;
  readonly cpu: Place;
}

const cpuPeriodUs = 100_000;

/** The cgroup path of a controller in `/proc/self/cgroup` (`''` for v2's unified line). */
function pathsOf(text: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    const [, controllers = '', path = ''] = match;
    if (controllers === '') paths.set('', path);
    for (const controller of controllers.split(',')) paths.set(controller, path);
  }
  return paths;
}

const exists = (path: string): boolean => {
  try {
    readFileSync(path);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EISDIR';
  }
};

const write = (path: string, value: string) => writeFileSync(path, value);

const read = (path: string) => readFileSync(path, 'utf8').trim();

export class ResourceCapper {
  private layout: Layout | undefined;
  private readonly root: string;

  constructor(private readonly options: CapperOptions) {
    this.root = options.root ?? '/sys/fs/cgroup';
  }

  /** Applies the caps (none: lifts any applied before) and says what it did; never throws. */
  apply(caps: ResourceCaps): Report {
    const asked = caps.cpuPercent !== undefined || caps.memoryBytes !== undefined;
    if (!asked && !this.layout) return { state: 'none' };
    if (this.options.refused) return { state: 'unavailable', reason: this.options.refused };
    try {
      if ((this.options.platform ?? process.platform) !== 'linux') {
        return { state: 'unavailable', reason: 'cgroups are Linux only' };
      }
      const layout = this.prepare();
      // A memory cap under what the agent holds would have the kernel kill it (cgroup v2) or
      // refuse it (v1): that one is lifted instead, and the report says so.
      const rss = (this.options.rssBytes ?? (() => process.memoryUsage.rss()))();
      const tooLow = caps.memoryBytes !== undefined && caps.memoryBytes < rss;
      const { memoryBytes: _, ...withoutMemory } = caps;
      const applied = this.write(layout, tooLow ? withoutMemory : caps);
      if (tooLow) {
        const mib = (bytes: number) => `${Math.ceil(bytes / 1024 / 1024)} MiB`;
        return {
          ...applied,
          state: 'unavailable',
          reason: `MemoryLimit ${mib(caps.memoryBytes ?? 0)} is below what the agent holds now (${mib(rss)}): not applied`,
        };
      }
      // Lifted: the limits are gone, the agent stays in its cgroup.
      return asked ? applied : { state: 'none' };
    } catch (error) {
      return { state: 'unavailable', reason: reasonOf(error) };
    }
  }

  /** Moves a run's process (waiting for its go) into the runs cgroup, out of the agent's caps. */
  placeRun(pid: number): void {
    const layout = this.layout;
    if (!layout) return;
    // A run that cannot be moved stays in the agent's cgroup: it shares the caps rather than not running.
    for (const place of places(layout)) this.placeOne(place, `${pid}`);
  }

  /** Finds the hierarchies, makes the agent's groups and moves the agent in (once). */
  private prepare(): Layout {
    if (this.layout) return this.layout;
    const paths = pathsOf((this.options.selfCgroup ?? (() => readFileSync('/proc/self/cgroup', 'utf8')))());
    const unified = paths.get('');
    let layout: Layout;
    if (exists(join(this.root, 'cgroup.controllers')) && unified !== undefined) {
      const place = { mount: this.root, group: this.groupOnV2(posix.normalize(unified)) };
      layout = { mechanism: 'cgroup2', memory: place, cpu: place };
      this.makeGroups(place);
      // Out of the starting cgroup first: a cgroup with processes cannot enable controllers below it.
      this.moveSelf(layout);
      // The namespace's root is the agent's to divide; a delegated unit's parent is its manager's.
      if (place.group === posix.join('/', this.options.name)) enableControllers(this.root);
      enableControllers(join(this.root, place.group));
    } else {
      const v1 = (controller: string): Place => {
        const path = paths.get(controller);
        const mount = [join(this.root, controller), join(this.root, 'cpu,cpuacct')].find((dir) =>
          exists(join(dir, 'cgroup.procs')),
        );
        if (path === undefined || !mount) {
          throw new Error(
            `no cgroup v2 with controllers and no cgroup v1 ${controller} hierarchy under ${this.root}`,
          );
        }
        return { mount, group: this.groupBeside(path) };
      };
      layout = { mechanism: 'cgroup1', memory: v1('memory'), cpu: v1('cpu') };
      this.makeGroups(layout.memory);
      this.makeGroups(layout.cpu);
      this.moveSelf(layout);
    }
    this.layout = layout;
    return layout;
  }

  /** Moves the agent (every thread of it) into its capped leaf. */
  private moveSelf(layout: Layout): void {
    for (const place of places(layout)) {
      const leaf = join(place.mount, place.group, 'agent');
      // Scripts started before (a delegated unit starts everything in the agent's leaf) leave it.
      const before = pidsIn(leaf);
      write(join(leaf, 'cgroup.procs'), `${this.options.pid}`);
      for (const pid of before) if (pid !== '' && pid !== `${this.options.pid}`) this.placeOne(place, pid);
    }
  }

  private placeOne(place: Place, pid: string): void {
    try {
      write(join(place.mount, place.group, 'runs', 'cgroup.procs'), pid);
    } catch {
      // gone meanwhile, or refused: it stays under the agent's caps
    }
  }

  /**
   * cgroup v2: the group may be divided only where the agent's restart cannot be refused. Its
   * supervisor puts a restarted agent back where it started, and a cgroup that has enabled
   * controllers for its children takes no process (the root aside). So: a leaf named `agent`
   * (systemd's `DelegateSubgroup=agent`, or a restart inside the group made before) makes its parent
   * the group; the namespace's root gets `/NAME`; anywhere else the caps are refused, saying how.
   */
  private groupOnV2(own: string): string {
    if (basename(own) === 'agent') return dirname(own);
    if (own === '/') return posix.join('/', this.options.name);
    throw new Error(
      `cgroup v2: dividing ${own.slice(0, 80)} would stop its supervisor restarting the agent there; add Delegate=yes and DelegateSubgroup=agent to its systemd unit (systemd 254+)`,
    );
  }

  /** cgroup v1: `START/NAME` for the cgroup the agent started in; the same group when it starts inside it already. */
  private groupBeside(path: string): string {
    const own = posix.normalize(path);
    if (basename(own) === 'agent' && basename(dirname(own)) === this.options.name) return dirname(own);
    return posix.join(own, this.options.name);
  }

  private makeGroups(place: Place): void {
    for (const leaf of ['agent', 'runs'])
      mkdirSync(join(place.mount, place.group, leaf), { recursive: true });
  }

  private write(layout: Layout, caps: ResourceCaps): Report {
    const memory = join(layout.memory.mount, layout.memory.group, 'agent');
    const cpu = join(layout.cpu.mount, layout.cpu.group, 'agent');
    let memoryBytes: number | undefined;
    let cpuPercent: number | undefined;
    if (layout.mechanism === 'cgroup2') {
      write(join(memory, 'memory.max'), caps.memoryBytes === undefined ? 'max' : `${caps.memoryBytes}`);
      const quota = caps.cpuPercent === undefined ? 'max' : `${caps.cpuPercent * 1000}`;
      write(join(cpu, 'cpu.max'), `${quota} ${cpuPeriodUs}`);
      const memoryMax = read(join(memory, 'memory.max'));
      const [cpuQuota = 'max', period = `${cpuPeriodUs}`] = read(join(cpu, 'cpu.max')).split(' ');
      if (memoryMax !== 'max') memoryBytes = Number(memoryMax);
      if (cpuQuota !== 'max') cpuPercent = Math.round((Number(cpuQuota) * 100) / Number(period));
    } else {
      write(
        join(memory, 'memory.limit_in_bytes'),
        caps.memoryBytes === undefined ? '-1' : `${caps.memoryBytes}`,
      );
      write(join(cpu, 'cpu.cfs_period_us'), `${cpuPeriodUs}`);
      const quota = caps.cpuPercent === undefined ? '-1' : `${caps.cpuPercent * 1000}`;
      write(join(cpu, 'cpu.cfs_quota_us'), quota);
      const limit = Number(read(join(memory, 'memory.limit_in_bytes')));
      // v1 shows "no limit" as the largest page-aligned 64-bit number.
      if (limit > 0 && limit < 2 ** 62) memoryBytes = limit;
      const cpuQuota = Number(read(join(cpu, 'cpu.cfs_quota_us')));
      if (cpuQuota > 0)
        cpuPercent = Math.round((cpuQuota * 100) / Number(read(join(cpu, 'cpu.cfs_period_us'))));
    }
    return {
      state: 'applied',
      mechanism: layout.mechanism,
      cgroup: posix.join(layout.memory.group, 'agent'),
      ...(cpuPercent !== undefined && { cpuPercent }),
      ...(memoryBytes !== undefined && { memoryBytes }),
    };
  }
}

/** The processes of a cgroup; none when it cannot be read (a leaf just made holds none anyway). */
function pidsIn(dir: string): string[] {
  try {
    return read(join(dir, 'cgroup.procs')).split(/\s+/);
  } catch {
    return [];
  }
}

const places = (layout: Layout): Place[] =>
  layout.memory === layout.cpu ? [layout.memory] : [layout.memory, layout.cpu];

/** Enables memory and cpu for the children of `dir` (cgroup v2), saying which is missing when one is. */
function enableControllers(dir: string): void {
  const available = read(join(dir, 'cgroup.controllers')).split(/\s+/);
  const missing = ['memory', 'cpu'].filter((controller) => !available.includes(controller));
  if (missing.length > 0) {
    throw new Error(`cgroup v2: the ${missing.join(' and ')} controller is not available in ${dir}`);
  }
  try {
    write(join(dir, 'cgroup.subtree_control'), '+memory +cpu');
  } catch (error) {
    if (errnoCode(error) === 'EBUSY') {
      throw new Error(`cgroup v2: ${dir} holds other processes, so no controller can be enabled below it`);
    }
    throw error;
  }
}

function reasonOf(error: unknown): string {
  const code = errnoCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return `the cgroup files cannot be written (${code}): the agent must run as root with a writable cgroup mount`;
  }
  return message.slice(0, 255);
}
