import { describe, expect, it } from 'vitest';
import { errorCodeOf } from '../../test/helpers/error-code.js';
import { fillParameterReferences, parameterReferences, validateParameterName } from './parameter-store.js';

describe('Parameter Store references in scripts ({{oos:NAME}}, {{oos-secret:NAME}})', () => {
  it('finds each referenced name once, spaces allowed', () => {
    expect(
      parameterReferences(
        "echo '{{oos-secret:password}}' | passwd '{{ oos : username }}'",
        '{{oos:username}} {{oos:a.b-c_d}}',
      ),
    ).toEqual({
      plain: ['username', 'a.b-c_d'],
      secret: ['password'],
    });
    expect(parameterReferences('{{name}} {{ACS::InstanceId}} {{oos:}}')).toEqual({ plain: [], secret: [] });
  });

  it('fills values in, leaving unknown names as written', () => {
    const values = { plain: new Map([['user', 'admin']]), secret: new Map([['pw', 's3cret']]) };
    expect(fillParameterReferences('{{oos:user}}:{{ oos-secret:pw }} {{oos:other}}', values)).toBe(
      'admin:s3cret {{oos:other}}',
    );
  });

  it('validates names', () => {
    expect(errorCodeOf(() => validateParameterName('db.password-1'))).toBeUndefined();
    for (const bad of ['', 'has space', 'oos-thing', 'ACS_x', 'a/b', 'x'.repeat(181)]) {
      expect(
        errorCodeOf(() => validateParameterName(bad)),
        bad,
      ).toBe('InvalidParameter');
    }
  });
});
