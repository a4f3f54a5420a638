import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';

describe('the CRI descriptor the agent loads', () => {
  it('is runtime-v1.proto, field for field (regenerate runtime-v1.json from the .proto after an edit)', () => {
    const root = new protobuf.Root();
    root.loadSync(new URL('./runtime-v1.proto', import.meta.url).pathname, { keepCase: true });
    const committed = JSON.parse(readFileSync(new URL('./runtime-v1.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(root.toJSON());
    expect(Object.keys(committed.nested.runtime.nested.v1.nested.RuntimeService.methods)).toContain(
      'ExecSync',
    );
  });
});
