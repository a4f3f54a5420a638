import { describe, expect, it } from 'vitest';
import { containerMisfit, parseContainerTarget } from './container.js';
import { ApiError } from './errors.js';

const hex = 'ab141ddfbacfe02d9dbc25966ed971536124527097398d419a6746873fea0123';
const codeOf = (id: string, name: string): string | undefined => {
  try {
    parseContainerTarget(id, name);
    return undefined;
  } catch (error) {
    return error instanceof ApiError ? error.code : String(error);
  }
};

describe('ContainerId and ContainerName (the seed)', () => {
  it('reads 64 hex characters, with the runtime from an optional prefix', () => {
    expect(parseContainerTarget(hex, '')).toEqual({ runtime: undefined, id: hex, name: '' });
    expect(parseContainerTarget(`docker://${hex}`, '')?.runtime).toBe('docker');
    expect(parseContainerTarget(`containerd://${hex}`, '')?.runtime).toBe('containerd');
    expect(parseContainerTarget(`cri-o://${hex}`, 'web')).toEqual({ runtime: 'cri-o', id: hex, name: 'web' });
    expect(parseContainerTarget('', '')).toBeUndefined();
  });

  it('refuses any other id with InvalidContainerId.Malformed', () => {
    for (const id of [
      hex.slice(1),
      `${hex}0`,
      hex.toUpperCase(),
      `podman://${hex}`,
      `docker:${hex}`,
      'abc',
    ]) {
      expect(codeOf(id, '')).toBe('InvalidContainerId.Malformed');
    }
  });

  it('takes Docker and Kubernetes names and refuses others with InvalidContainerName.Malformed', () => {
    for (const name of ['web', 'k8s_nginx_pod-1.default', 'a', 'A1_b.c-d', 'x'.repeat(255)]) {
      expect(codeOf('', name)).toBeUndefined();
    }
    for (const name of ['-web', '.web', 'we b', 'web/1', 'wéb', 'x'.repeat(256)]) {
      expect(codeOf('', name)).toBe('InvalidContainerName.Malformed');
    }
  });

  it('runs only shell scripts without a #! line in containers', () => {
    expect(containerMisfit('RunShellScript', 'echo hi')).toBeUndefined();
    expect(containerMisfit('RunShellScript', '\n  #!/usr/bin/python\nprint(1)')).toMatch(/#! line/);
    expect(containerMisfit('RunPowerShellScript', 'echo hi')).toMatch(/only RunShellScript/);
  });
});
