import { describe, expect, it } from 'vitest';
import { ApiError } from '../domain/errors.js';
import { webhookUrl } from './webhooks.js';

describe('webhook URLs', () => {
  it('takes absolute http and https URLs', () => {
    expect(webhookUrl('https://ops.example.com/hooks/openassist')).toBe(
      'https://ops.example.com/hooks/openassist',
    );
    expect(webhookUrl('http://127.0.0.1:8080/x?y=1')).toBe('http://127.0.0.1:8080/x?y=1');
  });

  it('refuses other schemes, relative URLs and credentials with InvalidParameter.Url', () => {
    for (const url of [
      'ftp://h/x',
      'file:///etc/passwd',
      'gopher://h/',
      'javascript:alert(1)',
      '/relative',
      '',
      'https://user:pw@h/',
    ]) {
      let caught: unknown;
      try {
        webhookUrl(url);
      } catch (error) {
        caught = error;
      }
      expect(caught instanceof ApiError && caught.code, url).toBe('InvalidParameter.Url');
    }
  });
});
