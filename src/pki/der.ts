/**
 * The few DER encodings the PKI assembles certificates from (RFC 5280 / X.690), and a reader for the one field
 * it needs out of a SubjectPublicKeyInfo. @peculiar/x509 builds a certificate by serialising and re-parsing
 * every extension and name and finally parsing the whole certificate it produced; assembling the bytes
 * directly costs a fraction of that, and a unit test pins the result byte for byte to @peculiar/x509's.
 */

/** A DER length: short form under 128, else the count of big-endian length bytes and those bytes. */
function lengthOctets(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One tag-length-value element whose content is the given parts in order. */
export function tlv(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), lengthOctets(body.length), body]);
}

export const sequence = (...parts: Uint8Array[]): Buffer => tlv(0x30, ...parts);
export const octetString = (bytes: Uint8Array): Buffer => tlv(0x04, bytes);
export const bitString = (bytes: Uint8Array): Buffer => tlv(0x03, Buffer.from([0]), bytes);
export const booleanTrue = (): Buffer => Buffer.from([0x01, 0x01, 0xff]);
/** `[n] EXPLICIT`: a constructed context-specific tag around the element. */
export const explicit = (n: number, element: Uint8Array): Buffer => tlv(0xa0 | n, element);

/** An OBJECT IDENTIFIER from its dotted form. */
export function objectIdentifier(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const bytes: number[] = [];
  const base128 = (value: number) => {
    const groups = [value & 0x7f];
    for (let rest = Math.floor(value / 128); rest > 0; rest = Math.floor(rest / 128)) {
      groups.unshift((rest & 0x7f) | 0x80);
    }
    bytes.push(...groups);
  };
  base128(arcs[0]! * 40 + arcs[1]!);
  for (const arc of arcs.slice(2)) base128(arc);
  return tlv(0x06, Buffer.from(bytes));
}

/**
 * A positive INTEGER from hex: leading zero bytes dropped and one zero byte put back where the top bit is set,
 * as @peculiar/x509 encodes certificate serial numbers.
 */
export function positiveInteger(hex: string): Buffer {
  let bytes: Buffer = Buffer.from(hex.length % 2 === 1 ? `0${hex}` : hex, 'hex');
  let first = 0;
  while (first < bytes.length - 1 && bytes[first] === 0) first++;
  bytes = bytes.subarray(first);
  if (bytes.length === 0) bytes = Buffer.from([0]);
  if (bytes[0]! > 0x7f) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(0x02, bytes);
}

/** The whole second a certificate can carry: the encodings below have no fraction. */
export function wholeSecond(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

/** RFC 5280 Time: UTCTime through 2049, GeneralizedTime after, to the second (milliseconds dropped). */
export function time(date: Date): Buffer {
  const d = wholeSecond(date);
  const two = (n: number) => String(n).padStart(2, '0');
  const rest = `${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
  const year = d.getUTCFullYear();
  if (year > 2049) return tlv(0x18, Buffer.from(`${String(year).padStart(4, '0')}${rest}`, 'latin1'));
  return tlv(0x17, Buffer.from(`${two(year % 100)}${rest}`, 'latin1'));
}

/** One element read from DER: its tag, its content and where the next element starts. */
interface Element {
  tag: number;
  content: Buffer;
  end: number;
}

function readElement(der: Buffer, at: number): Element {
  const tag = der[at]!;
  let length = der[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i]!;
    start += count;
  }
  if (start + length > der.length) throw new Error('truncated DER');
  return { tag, content: der.subarray(start, start + length), end: start + length };
}

/**
 * The subjectPublicKey bits of a DER SubjectPublicKeyInfo (without the unused-bits octet): what RFC 5280's
 * key identifiers hash (method 1).
 */
export function subjectPublicKeyBits(spki: Uint8Array): Buffer {
  const outer = readElement(Buffer.from(spki), 0);
  if (outer.tag !== 0x30) throw new Error('not a SubjectPublicKeyInfo');
  const algorithm = readElement(outer.content, 0);
  const key = readElement(outer.content, algorithm.end);
  if (key.tag !== 0x03) throw new Error('not a SubjectPublicKeyInfo');
  return key.content.subarray(1);
}
