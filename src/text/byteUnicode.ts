/**
 * `bytes_to_unicode()` of GPT-2 / CLIP: a reversible map from the 256 byte values to printable characters,
 * so that BPE symbols are strings without whitespace or control characters. The vocabulary lists the 256
 * symbols in this table's order, so a byte's base token id is its index here.
 */

/** BYTE_ORDER[i] = the byte value whose symbol is vocabulary entry i (0 ≤ i < 256). */
export const BYTE_ORDER: readonly number[] = buildByteOrder();
/** BYTE_TO_CHAR[b] = the printable character standing for byte b. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();
/** BYTE_TO_ID[b] = base token id of byte b (add 256 for its end-of-word `</w>` variant). */
export const BYTE_TO_ID: Int32Array = buildByteToId();

function buildByteOrder(): number[] {
  const bs: number[] = [];
  const range = (a: number, b: number): void => {
    for (let i = a; i <= b; i++) bs.push(i);
  };
  range(0x21, 0x7e);
  range(0xa1, 0xac);
  range(0xae, 0xff);
  const printable = new Set(bs);
  for (let b = 0; b < 256; b++) if (!printable.has(b)) bs.push(b);
  return bs;
}

function buildByteToChar(): string[] {
  const out = new Array<string>(256);
  let n = 0;
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  return out;
}

function buildByteToId(): Int32Array {
  const ids = new Int32Array(256);
  BYTE_ORDER.forEach((b, i) => {
    ids[b] = i;
  });
  return ids;
}
