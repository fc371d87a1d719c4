import { expect } from 'chai';
import * as fs from 'fs';
import { ClipTokenizer, EOT_TOKEN, SOT_TOKEN, tokenizeToArrays } from '../../src/text';
import { fixturePath, sharedPath } from '../helpers/paths';

interface RefCase {
  text: string;
  ids: number[];
  ids77: number[];
}

describe('reference: tokenizer against ../shared/reference/tokenizer_cases.json (exact)', function () {
  const cases: RefCase[] = JSON.parse(fs.readFileSync(sharedPath('reference', 'tokenizer_cases.json'), 'utf8'));

  it('the vendored copy in test/fixtures is identical to the shared file', function () {
    const vendored = fs.readFileSync(fixturePath('tokenizer', 'tokenizer_cases.json'));
    expect(vendored.equals(fs.readFileSync(sharedPath('reference', 'tokenizer_cases.json')))).to.equal(true);
  });

  it('ids (no truncation) and ids77 (truncate: true) match on every case', function () {
    const tok = ClipTokenizer.default();
    const bad: string[] = [];
    const rows = tokenizeToArrays(
      cases.map((c) => c.text),
      { contextLength: 77, truncate: true },
    );
    cases.forEach((c, i) => {
      if (JSON.stringify([SOT_TOKEN, ...tok.encode(c.text), EOT_TOKEN]) !== JSON.stringify(c.ids)) bad.push(`ids: ${c.text}`);
      const row = Array.from(rows[i]);
      let end = row.length;
      while (end > 0 && row[end - 1] === 0) end--; // drop the zero padding, as the reference file does
      if (JSON.stringify(row.slice(0, end)) !== JSON.stringify(c.ids77)) bad.push(`ids77: ${c.text}`);
    });
    expect(bad).to.deep.equal([]);
  });
});
