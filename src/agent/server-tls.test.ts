import { describe, expect, it } from 'vitest';
import { certificateProblem, refusalCode } from './server-tls.js';

describe('what the agent says when it refuses a server or is refused', () => {
  it('names an untrusted certificate and the --ca option; other failures are not certificate problems', () => {
    const error = Object.assign(new Error('self-signed certificate'), {
      code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
    expect(certificateProblem(error, 'https://10.0.0.5:8443')).toBe(
      'refusing https://10.0.0.5:8443: its certificate cannot be verified (DEPTH_ZERO_SELF_SIGNED_CERT: ' +
        'self-signed certificate); pass the CA that signed it with --ca FILE (OPENASSIST_AGENT_CA)',
    );
    const wrongHost = Object.assign(new Error('altname'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    expect(certificateProblem(wrongHost, 'https://h')).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(certificateProblem(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), 'x')).toBe(
      undefined,
    );
    expect(certificateProblem(undefined, 'x')).toBeUndefined();
  });

  it("reads the Code of the server's error body, else names the status", () => {
    expect(refusalCode(401, '{"Code":"InvalidToken.Agent","Message":"…"}')).toBe('InvalidToken.Agent');
    expect(refusalCode(401, '')).toBe('HTTP 401');
    expect(refusalCode(502, '<html>')).toBe('HTTP 502');
  });
});
