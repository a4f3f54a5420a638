/**
 * The line that installs the agent on a Linux machine, run there as root (docs/install.md): the
 * server's install script, piped into sh with the activation code in sh's environment, where
 * other local users cannot read it (a process's arguments are visible to all in `ps`).
 */
export function installLine(serverUrl: string, activationId: string, activationCode: string): string {
  const base = serverUrl.replace(/\/+$/, '');
  return `curl -fsSL ${base}/agent/install.sh | OPENASSIST_ACTIVATION_CODE=${activationCode} sh -s -- --activation-id ${activationId}`;
}

/** A loopback address reaches only the machine it is typed on: a line with one is for this machine alone. */
export function isLoopbackUrl(serverUrl: string): boolean {
  try {
    const host = new URL(serverUrl).hostname;
    return host === 'localhost' || host.startsWith('127.') || host === '[::1]';
  } catch {
    return false;
  }
}
