import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ResourceCapper } from './resource-caps.js';

// The cgroup layouts as files in a directory of the test's own: what the capper writes where, and
// what it reports. (The kernel's side, a real limit on a real agent, is the SDK test's:
// test/api/cloud-assistant-settings.sdk.test.ts.)

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'openassist-cgroup-'));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const text = (root: string, path: string) => readFileSync(join(root, path), 'utf8');
const mib = 1024 * 1024;
// What the agent holds, as the capper reads it: small, so the caps below are above it.
const rssBytes = () => 10 * mib;

describe('the agent caps itself', () => {
  it('with cgroup v2 in a delegated unit: the unit is the group, memory.max and cpu.max on its agent leaf', () => {
    const root = tree({
      'cgroup.controllers': 'cpuset cpu io memory pids',
      'system.slice/cgroup.subtree_control': '+cpu +memory',
      'system.slice/oa.service/cgroup.controllers': 'cpu io memory pids',
      'system.slice/oa.service/cgroup.subtree_control': '',
      // A script the agent started before any caps runs beside it in the unit's leaf.
      'system.slice/oa.service/agent/cgroup.procs': '42\n51\n',
    });
    const capper = new ResourceCapper({
      name: 'openassist-mi-1',
      pid: 42,
      rssBytes,
      root,
      selfCgroup: () => '0::/system.slice/oa.service/agent\n',
    });
    expect(capper.apply({ memoryBytes: 64 * mib, cpuPercent: 20 })).toEqual({
      state: 'applied',
      mechanism: 'cgroup2',
      cgroup: '/system.slice/oa.service/agent',
      memoryBytes: 64 * mib,
      cpuPercent: 20,
    });
    // systemd's own subtree is left alone; the unit enables the controllers for its leaves.
    expect(text(root, 'system.slice/cgroup.subtree_control')).toBe('+cpu +memory');
    expect(text(root, 'system.slice/oa.service/cgroup.subtree_control')).toBe('+memory +cpu');
    expect(text(root, 'system.slice/oa.service/agent/memory.max')).toBe(String(64 * mib));
    expect(text(root, 'system.slice/oa.service/agent/cpu.max')).toBe('20000 100000');
    expect(text(root, 'system.slice/oa.service/runs/cgroup.procs')).toBe('51');
    capper.placeRun(77);
    expect(text(root, 'system.slice/oa.service/runs/cgroup.procs')).toBe('77');
    // Lifted: "max" again, and reported as no caps.
    expect(capper.apply({})).toEqual({ state: 'none' });
    expect(text(root, 'system.slice/oa.service/agent/memory.max')).toBe('max');
    expect(text(root, 'system.slice/oa.service/agent/cpu.max')).toBe('max 100000');
  });

  it('with cgroup v2 at the namespace root (a container): /NAME, the root enabling the controllers', () => {
    const root = tree({
      'cgroup.controllers': 'cpu memory',
      'cgroup.subtree_control': '',
      'openassist-mi-1/cgroup.controllers': 'cpu memory',
    });
    const capper = new ResourceCapper({
      name: 'openassist-mi-1',
      pid: 42,
      rssBytes,
      root,
      selfCgroup: () => '0::/\n',
    });
    expect(capper.apply({ memoryBytes: 40 * mib })).toMatchObject({
      state: 'applied',
      cgroup: '/openassist-mi-1/agent',
    });
    expect(text(root, 'cgroup.subtree_control')).toBe('+memory +cpu');
    expect(text(root, 'openassist-mi-1/agent/cgroup.procs')).toBe('42');
    // Restarted inside its group: kept, not nested again.
    const again = new ResourceCapper({
      name: 'openassist-mi-1',
      pid: 43,
      rssBytes,
      root,
      selfCgroup: () => '0::/openassist-mi-1/agent\n',
    });
    expect(again.apply({ memoryBytes: 40 * mib })).toMatchObject({ cgroup: '/openassist-mi-1/agent' });
  });

  it('refuses, saying how, where a restart could not place the agent or a controller is missing', () => {
    const root = tree({ 'cgroup.controllers': 'cpu memory', 'svc/cgroup.controllers': 'cpu memory' });
    const capper = new ResourceCapper({
      name: 'openassist-mi-1',
      pid: 42,
      rssBytes,
      root,
      selfCgroup: () => '0::/svc\n',
    });
    expect(capper.apply({ memoryBytes: 40 * mib })).toMatchObject({
      state: 'unavailable',
      reason: expect.stringContaining('add Delegate=yes and DelegateSubgroup=agent to its systemd unit'),
    });
    const cpuOnly = tree({ 'cgroup.controllers': 'cpu', 'svc/cgroup.controllers': 'cpu' });
    const lacking = new ResourceCapper({
      name: 'openassist-mi-1',
      pid: 42,
      rssBytes,
      root: cpuOnly,
      selfCgroup: () => '0::/svc/agent\n',
    });
    expect(lacking.apply({ memoryBytes: 40 * mib })).toEqual({
      state: 'unavailable',
      reason: `cgroup v2: the memory controller is not available in ${join(cpuOnly, 'svc')}`,
    });
  });

  it('with cgroup v1: the memory and cpu hierarchies, limit_in_bytes and cfs_quota_us', () => {
    const root = tree({
      'memory/cgroup.procs': '',
      'cpu,cpuacct/cgroup.procs': '',
    });
    const selfCgroup = () => '4:memory:/box\n2:cpu,cpuacct:/\n0::/\n';
    const capper = new ResourceCapper({ name: 'openassist-mi-1', pid: 42, rssBytes, root, selfCgroup });
    expect(capper.apply({ memoryBytes: 512 * mib, cpuPercent: 50 })).toEqual({
      state: 'applied',
      mechanism: 'cgroup1',
      cgroup: '/box/openassist-mi-1/agent',
      memoryBytes: 512 * mib,
      cpuPercent: 50,
    });
    expect(text(root, 'memory/box/openassist-mi-1/agent/memory.limit_in_bytes')).toBe(String(512 * mib));
    expect(text(root, 'cpu,cpuacct/openassist-mi-1/agent/cpu.cfs_quota_us')).toBe('50000');
    expect(text(root, 'memory/box/openassist-mi-1/agent/cgroup.procs')).toBe('42');
    expect(text(root, 'cpu,cpuacct/openassist-mi-1/agent/cgroup.procs')).toBe('42');
    capper.placeRun(77);
    expect(text(root, 'memory/box/openassist-mi-1/runs/cgroup.procs')).toBe('77');
    expect(text(root, 'cpu,cpuacct/openassist-mi-1/runs/cgroup.procs')).toBe('77');
  });

  it('lifts a memory cap under what the agent holds instead of having it killed, and says so', () => {
    const root = tree({ 'memory/cgroup.procs': '', 'cpu/cgroup.procs': '' });
    const selfCgroup = () => '4:memory:/\n2:cpu:/\n';
    const holding = (bytes: number) => () => bytes;
    const capper = new ResourceCapper({
      name: 'openassist-mi-1',
      pid: 42,
      root,
      selfCgroup,
      rssBytes: holding(30 * mib),
    });
    expect(capper.apply({ memoryBytes: 40 * mib, cpuPercent: 20 })).toMatchObject({
      state: 'applied',
      memoryBytes: 40 * mib,
    });
    const grown = new ResourceCapper({
      name: 'openassist-mi-1',
      pid: 42,
      root,
      selfCgroup,
      rssBytes: holding(45 * mib),
    });
    expect(grown.apply({ memoryBytes: 40 * mib, cpuPercent: 20 })).toEqual({
      state: 'unavailable',
      mechanism: 'cgroup1',
      cgroup: '/openassist-mi-1/agent',
      cpuPercent: 20,
      reason: 'MemoryLimit 40 MiB is below what the agent holds now (45 MiB): not applied',
    });
    expect(text(root, 'memory/openassist-mi-1/agent/memory.limit_in_bytes')).toBe('-1');
  });

  it('touches nothing while no caps are asked, and reports the fallback where there are no cgroups', () => {
    const root = join(tmpdir(), 'openassist-no-cgroups');
    const capper = new ResourceCapper({
      name: 'openassist-mi-1',
      pid: 42,
      rssBytes,
      root,
      selfCgroup: () => '0::/\n',
    });
    expect(capper.apply({})).toEqual({ state: 'none' });
    expect(capper.apply({ cpuPercent: 20 })).toEqual({
      state: 'unavailable',
      reason: `no cgroup v2 with controllers and no cgroup v1 memory hierarchy under ${root}`,
    });
    capper.placeRun(77); // nothing prepared: the run stays where it is
    const windows = new ResourceCapper({ name: 'x', pid: 1, root, platform: 'win32' });
    expect(windows.apply({ cpuPercent: 20 })).toEqual({
      state: 'unavailable',
      reason: 'cgroups are Linux only',
    });
  });
});
