import { describe, expect, it } from 'vitest';
import { installLine, isLoopbackUrl } from './install-line.js';

describe('the install line', () => {
  it('pipes the install script into sh with the code in its environment, never in an argument', () => {
    expect(installLine('http://10.0.0.5:8080/', '4ECEEE12-56F1-4FBC-9AB1-890F74942176', 'a-abc')).toBe(
      'curl -fsSL http://10.0.0.5:8080/agent/install.sh | OPENASSIST_ACTIVATION_CODE=a-abc sh -s -- --activation-id 4ECEEE12-56F1-4FBC-9AB1-890F74942176',
    );
  });

  it('knows a loopback server address, which other machines cannot reach', () => {
    expect(isLoopbackUrl('http://127.0.0.1:8080')).toBe(true);
    expect(isLoopbackUrl('http://localhost:8080')).toBe(true);
    expect(isLoopbackUrl('http://[::1]:8080')).toBe(true);
    expect(isLoopbackUrl('https://oa.example.com')).toBe(false);
    expect(isLoopbackUrl('not a url')).toBe(false);
  });
});
