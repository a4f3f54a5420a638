import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeHeader, encodeRecord, headerBytes, JournalDamaged, scanRecords } from './journal-format.js';

const payloads = ['[{"o":"seq","next":1}]', '[{"o":"ack","n":[1]}]', '[{"o":"ack","n":[2,3]}]'].map((text) =>
  Buffer.from(text),
);
const file = (...records: Buffer[]) => Buffer.concat([encodeHeader(), ...records.map(encodeRecord)]);
const texts = (bytes: Buffer) => scanRecords(bytes).records.map((record) => record.payload.toString());

describe('the journal file format', () => {
  it('reads back every record appended after the header, with where each payload lies', () => {
    const bytes = file(...payloads);
    const scan = scanRecords(bytes);
    expect(scan.records.map((record) => record.payload.toString())).toEqual(payloads.map(String));
    expect(scan.end).toBe(bytes.length);
    expect(scan.records[0]?.at).toBe(headerBytes + 8);
  });

  it('ends at the last whole record when the last one is torn anywhere, or zero-filled', () => {
    const whole = file(...payloads);
    const lastStart = whole.length - encodeRecord(payloads[2] as Buffer).length;
    for (let cut = lastStart + 1; cut < whole.length; cut++) {
      const scan = scanRecords(whole.subarray(0, cut));
      expect(scan.end).toBe(lastStart);
      expect(scan.records).toHaveLength(2);
    }
    const zeroed = Buffer.from(whole);
    zeroed.fill(0, lastStart);
    expect(scanRecords(zeroed).end).toBe(lastStart);
    const grown = Buffer.concat([whole, Buffer.alloc(4096)]);
    expect(scanRecords(grown)).toMatchObject({ end: whole.length });
  });

  it('calls a broken record with records after it damage, never skipping it', () => {
    const bytes = file(...payloads);
    const inFirst = headerBytes + 8 + 3;
    bytes.writeUInt8(bytes.readUInt8(inFirst) ^ 0xff, inFirst);
    expect(() => scanRecords(bytes)).toThrow(JournalDamaged);
    expect(() => scanRecords(bytes)).toThrow(/bad checksum\) and records follow/);
    const huge = file(...payloads);
    huge.writeUInt32BE(0x7fffffff, headerBytes);
    expect(() => scanRecords(huge)).toThrow(/claims/);
  });

  it('refuses a file that is not a journal, a broken header, and a format it does not know', () => {
    expect(() => scanRecords(Buffer.from('SQLite format 3\u0000 and more'))).toThrow(/not an agent journal/);
    const broken = file();
    broken.writeUInt8(broken.readUInt8(9) ^ 1, 9);
    expect(() => scanRecords(broken)).toThrow(/header is broken/);
    const newer = encodeHeader();
    newer.writeUInt32BE(2, 8);
    newer.writeUInt32BE(crc32(newer.subarray(0, 12)), 12);
    expect(() => scanRecords(newer)).toThrow(/format version 2; this agent reads version 1/);
    expect(texts(file())).toEqual([]);
  });
});
