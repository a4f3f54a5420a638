import { isOneOf } from '../guards.js';
import { ApiError } from './errors.js';

/** Which runtime API the agent uses: the Docker Engine API, or the Kubernetes CRI of containerd or CRI-O. */
const containerRuntimes = ['docker', 'containerd', 'cri-o'] as const;
export type ContainerRuntime = (typeof containerRuntimes)[number];

/**
 * Where a script runs inside a container (the seed's ContainerId / ContainerName). `runtime` is
 * undefined when the id carries no prefix, or only a name is given: the agent then tries the
 * Docker API first and the CRI sockets after it.
 */
export interface ContainerTarget {
  readonly runtime: ContainerRuntime | undefined;
  /** 64 lowercase hex characters, or empty when only a name is given. */
  readonly id: string;
  readonly name: string;
}

const idPattern = /^(?:(docker|containerd|cri-o):\/\/)?([0-9a-f]{64})$/;
// Docker's rule for names; Kubernetes container names (DNS-1123 labels) are a subset of it.
const namePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const maxNameLength = 255;

/**
 * Validates ContainerId and ContainerName. With both, the id decides which container (the name is
 * kept for the record only), as the id is the unambiguous one.
 */
export function parseContainerTarget(
  containerId: string,
  containerName: string,
): ContainerTarget | undefined {
  if (containerId === '' && containerName === '') return undefined;
  let runtime: ContainerRuntime | undefined;
  let id = '';
  if (containerId !== '') {
    const match = idPattern.exec(containerId);
    if (!match) {
      throw new ApiError(
        'InvalidContainerId.Malformed',
        'A ContainerId is 64 lowercase hexadecimal characters, optionally prefixed docker://, containerd:// or cri-o://.',
      );
    }
    const prefix = match[1];
    runtime = isOneOf(containerRuntimes, prefix) ? prefix : undefined;
    id = match[2] ?? '';
  }
  if (containerName !== '' && (containerName.length > maxNameLength || !namePattern.test(containerName))) {
    throw new ApiError(
      'InvalidContainerName.Malformed',
      `A ContainerName has at most ${maxNameLength} characters: letters, digits, _ . and -, starting with a letter or digit.`,
    );
  }
  return { runtime, id, name: containerName };
}

/**
 * Why a script cannot run in a container, or undefined when it can (the seed): only shell scripts,
 * and no `#!` interpreter line.
 */
export function containerMisfit(commandType: string, script: string): string | undefined {
  if (commandType !== 'RunShellScript') return `only RunShellScript runs in containers, not ${commandType}`;
  if (script.trimStart().startsWith('#!')) {
    return 'a script run in a container cannot choose its interpreter with a #! line';
  }
  return undefined;
}

/** The ContainerId as the caller wrote it (prefix included). */
export const containerIdText = (target: ContainerTarget): string =>
  target.id === '' ? '' : `${target.runtime ? `${target.runtime}://` : ''}${target.id}`;
