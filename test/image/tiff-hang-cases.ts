/**
 * TIFF files on which utif2 alone never returns (IFD chain loops, LZW table cycle) or overflows its stack
 * (nested IFDs pointing at themselves). tiff.test.ts decodes them in a child process
 * (`node -r ts-node/register/transpile-only test/image/tiff-hang-cases.ts`), so that a regression shows as
 * a failed test after a timeout instead of a suite stalled in a synchronous loop. Prints one JSON line.
 */
import { decodeBytes } from '../../src/image/decode';
import { editEntry, lzwCodes, makeTiff, TiffPage } from './make-tiff';

const grey = (w: number, h: number): TiffPage => ({
  width: w,
  height: h,
  samples: Uint8Array.from({ length: w * h }, (_, i) => i & 255),
  spp: 1,
});

/** utif2's LZW table gets entry 259 → 511 (a code beyond the table, which it accepts) and then 511 → 259. */
function lzwCycle(): Buffer {
  const seq = [256, 65, 511, 66];
  while (seq.length < 254) seq.push(65);
  seq.push(259, 65, 259, 257);
  const strip = lzwCodes(seq);
  return makeTiff([{ width: strip.length, height: 1, samples: strip, spp: 1, fields: [{ tag: 259, type: 3, values: [5] }] }]);
}

export interface HangCase {
  name: string;
  bytes: () => Buffer;
  decodes: boolean;
}

export const HANG_CASES: HangCase[] = [
  {
    name: 'next-IFD offset of the only IFD points to itself',
    decodes: false,
    bytes: () => makeTiff([grey(3, 2)], { next: (_i, at) => at[0] }),
  },
  {
    name: 'third IFD points back to the second',
    decodes: false,
    bytes: () => makeTiff([grey(3, 2), grey(2, 2), grey(1, 1)], { next: (i, at) => (i === 2 ? at[1] : undefined) }),
  },
  {
    name: 'SubIFDs entry (330) pointing at its own IFD is ignored, first page decoded',
    decodes: true,
    bytes: () => {
      const b = makeTiff([{ ...grey(3, 2), fields: [{ tag: 330, type: 4, values: [0] }] }]);
      return editEntry(b, 330, { value: b.readUInt32LE(4) });
    },
  },
  {
    name: 'Exif IFD entry (34665) pointing at its own IFD is ignored, first page decoded',
    decodes: true,
    bytes: () => {
      const b = makeTiff([{ ...grey(3, 2), fields: [{ tag: 34665, type: 4, values: [0] }] }]);
      return editEntry(b, 34665, { value: b.readUInt32LE(4) });
    },
  },
  { name: 'LZW strip whose code table points into a cycle (291 bytes)', decodes: false, bytes: lzwCycle },
];

if (require.main === module) {
  const results = HANG_CASES.map((c) => {
    const b = c.bytes();
    const t0 = performance.now();
    try {
      const d = decodeBytes(b, 'hang.tif');
      return { name: c.name, decoded: `${d.width}×${d.height} ${d.mode}`, ms: performance.now() - t0 };
    } catch (e) {
      return { name: c.name, error: (e as Error).name, message: (e as Error).message, ms: performance.now() - t0 };
    }
  });
  console.log(JSON.stringify(results));
}
