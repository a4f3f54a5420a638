import { XMLBuilder } from 'fast-xml-parser';

export type Format = 'JSON' | 'XML';

/**
 * `Format` in any case picks the answer's format; without it, `fallback`: JSON for V3 requests
 * (the SDK reads only JSON), XML for V1 (RPC-style) ones, Alibaba's documented RPC default.
 */
export function formatOf(value: string | undefined, fallback: Format = 'JSON'): Format {
  const asked = value?.toUpperCase();
  return asked === 'XML' || asked === 'JSON' ? asked : fallback;
}

/** Alibaba's gateway sends XML as exactly this, and its client cores parse an XML error body only then. */
export const xmlContentType = 'text/xml;charset=utf-8';

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
      type: xmlContentType,
      text: `<?xml version="1.0" encoding="UTF-8"?>${xml.build({ [root]: body })}`,
    };
  }
  return { type: 'application/json; charset=utf-8', text: JSON.stringify(body) };
}
