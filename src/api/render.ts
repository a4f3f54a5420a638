import { XMLBuilder } from 'fast-xml-parser';

export type Format = 'JSON' | 'XML';

/** `Format=XML` in any case asks for XML; the SDK reads only JSON, which is the default. */
export const formatOf = (value: string | undefined): Format =>
  value?.toUpperCase() === 'XML' ? 'XML' : 'JSON';

// Arrays become repeated elements named after their key: { Commands: { Command: [a, b] } } gives
// <Commands><Command>a</Command><Command>b</Command></Commands>, Alibaba's own XML shape.
const xml = new XMLBuilder({ ignoreAttributes: true, suppressEmptyNode: false, format: false });

export function renderBody(
  root: string,
  body: Record<string, unknown>,
  format: Format,
): { type: string; text: string } {
  if (format === 'XML') {
    return {
      type: 'application/xml; charset=utf-8',
      text: `<?xml version="1.0" encoding="UTF-8"?>${xml.build({ [root]: body })}`,
    };
  }
  return { type: 'application/json; charset=utf-8', text: JSON.stringify(body) };
}
