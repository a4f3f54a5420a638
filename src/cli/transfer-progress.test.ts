import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { transferProgress, transferProgressLine } from './transfer-progress.js';

const MiB = 1024 * 1024;

describe('transferProgressLine', () => {
  it('shows the bar, the share, the bytes and the speed', () => {
    expect(transferProgressLine(25 * MiB, 100 * MiB, 2_000)).toBe(
      `${'█'.repeat(6)}${'░'.repeat(18)} 25% 25.0/100.0 MiB  12.5 MiB/s`,
    );
    expect(transferProgressLine(100 * MiB, 100 * MiB, 0)).toBe(
      `${'█'.repeat(24)} 100% 100.0/100.0 MiB  0.0 MiB/s`,
    );
  });
});

describe('transferProgress', () => {
  const written = (stream: PassThrough) => String(stream.read() ?? '');

  it('draws nothing where the stream is not a terminal', () => {
    const stream = new PassThrough();
    const progress = transferProgress(stream, 10);
    progress.update(5);
    progress.done();
    expect(written(stream)).toBe('');
  });

  it('redraws in place at most every 100 ms, and the end always', () => {
    const stream = Object.assign(new PassThrough(), { isTTY: true });
    let now = 0;
    const progress = transferProgress(stream, 10 * MiB, () => now);
    progress.update(MiB);
    now = 50;
    progress.update(2 * MiB);
    now = 150;
    progress.update(3 * MiB);
    progress.update(10 * MiB);
    progress.done();
    const text = written(stream);
    const shares = text
      .split('\r')
      .filter(Boolean)
      .map((line) => line.split(' ')[1]);
    expect(shares).toEqual(['10%', '30%', '100%', '100%']);
    expect(text.endsWith('\u001b[K\n')).toBe(true);
  });
});
