import { crc32 } from 'node:zlib';

/**
 * The agent journal's file format (journal.log). A 16-byte header: the magic `OAJOURNL`, the
 * format version (uint32 BE) and the CRC32 of those 12 bytes. Then records, appended: the payload's
 * length (uint32 BE), a CRC32 over that length and the payload, and the payload (UTF-8 JSON).
 */
export const formatVersion = 1;
const magic = Buffer.from('OAJOURNL', 'latin1');
export const headerBytes = 16;
const frameBytes = 8;
/** Far above any record written (an output chunk is 64 KiB, Base64 ~88 KiB): a larger length is damage. */
export const maxRecordBytes = 16 * 1024 * 1024;

/** The journal file cannot be read (not a journal, or a record in its middle is broken). */
export class JournalDamaged extends Error {
  override name = 'JournalDamaged';
  readonly code = 'JOURNAL_DAMAGED';
}

export function encodeHeader(): Buffer {
  const header = Buffer.alloc(headerBytes);
  magic.copy(header, 0);
  header.writeUInt32BE(formatVersion, 8);
  header.writeUInt32BE(crc32(header.subarray(0, 12)), 12);
  return header;
}

/** Throws JournalDamaged unless `bytes` starts with a header of a version this agent reads. */
export function checkHeader(bytes: Buffer): void {
  if (bytes.length < headerBytes || !bytes.subarray(0, 8).equals(magic)) {
    throw new JournalDamaged('the file is not an agent journal (its header is missing or wrong)');
  }
  if (bytes.readUInt32BE(12) !== crc32(bytes.subarray(0, 12))) {
    throw new JournalDamaged('the journal header is broken (bad checksum)');
  }
  const version = bytes.readUInt32BE(8);
  if (version !== formatVersion) {
    throw new JournalDamaged(
      `the journal has format version ${version}; this agent reads version ${formatVersion} (a newer agent wrote it?)`,
    );
  }
}

const frameCrc = (lengthField: Buffer, payload: Buffer): number => crc32(payload, crc32(lengthField));

/** One record, framed, ready to append. */
export function encodeRecord(payload: Buffer): Buffer {
  const record = Buffer.allocUnsafe(frameBytes + payload.length);
  record.writeUInt32BE(payload.length, 0);
  record.writeUInt32BE(frameCrc(record.subarray(0, 4), payload), 4);
  payload.copy(record, frameBytes);
  return record;
}

export interface ScannedRecord {
  /** Where the payload starts in the file. */
  readonly at: number;
  readonly payload: Buffer;
}

export interface Scan {
  readonly records: ScannedRecord[];
  /** Where the last whole record ends: a torn tail past it is cut off. */
  readonly end: number;
}

const allZero = (bytes: Buffer): boolean => bytes.every((byte) => byte === 0);

/**
 * Reads every record after the header. A crash mid-append leaves a torn last record: a prefix of
 * it, or (a file system that grew the file before writing its data) zeros; either ends the scan at
 * the last whole record. A bad record with more data after it is damage, never skipped.
 */
export function scanRecords(bytes: Buffer): Scan {
  checkHeader(bytes);
  const records: ScannedRecord[] = [];
  let at = headerBytes;
  while (at < bytes.length) {
    const rest = bytes.length - at;
    if (rest < frameBytes) return { records, end: at };
    const length = bytes.readUInt32BE(at);
    const end = at + frameBytes + length;
    const tornTail = () => end >= bytes.length || allZero(bytes.subarray(at));
    if (length > maxRecordBytes) {
      if (allZero(bytes.subarray(at))) return { records, end: at };
      throw new JournalDamaged(`a record at byte ${at} claims ${length} bytes`);
    }
    if (end > bytes.length) return { records, end: at };
    const payload = bytes.subarray(at + frameBytes, end);
    if (bytes.readUInt32BE(at + 4) !== frameCrc(bytes.subarray(at, at + 4), payload)) {
      if (tornTail()) return { records, end: at };
      throw new JournalDamaged(`the record at byte ${at} is broken (bad checksum) and records follow it`);
    }
    records.push({ at: at + frameBytes, payload });
    at = end;
  }
  return { records, end: at };
}
