import { describe, expect, it } from 'vitest';
import { currentUser, parsePasswdLine } from './users.js';

describe('parsePasswdLine', () => {
  it('reads name, uid, gid, home and shell', () => {
    expect(parsePasswdLine('deploy:x:1001:1002:Deploy:/home/deploy:/bin/bash\n')).toEqual({
      name: 'deploy',
      uid: 1001,
      gid: 1002,
      home: '/home/deploy',
      shell: '/bin/bash',
    });
  });

  it('gives an empty home / and an empty shell /bin/sh', () => {
    expect(parsePasswdLine('svc:x:998:998:::')).toMatchObject({ home: '/', shell: '/bin/sh' });
  });

  it('refuses short lines, a missing name and ids that are not whole numbers (an empty uid is not root)', () => {
    for (const line of ['svc:x:998:998', ':x:1:1::/:/bin/sh', 'svc:x::1::/:/bin/sh', 'svc:x:1:-1::/:/bin/sh'])
      expect(parsePasswdLine(line), line).toBeUndefined();
  });
});

describe('currentUser', () => {
  it('is the user the process runs as', () => {
    const user = currentUser();
    expect(user.uid).toBe(process.getuid?.());
    expect(user.home).not.toBe('');
  });
});
