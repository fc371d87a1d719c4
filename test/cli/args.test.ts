import { expect } from 'chai';
import { formatHelp, FlagSpec, parseFlags } from '../../src/cli/args';
import { UsageError } from '../../src/errors';

const SPECS: FlagSpec[] = [
  { name: 'data', type: 'string', required: true, placeholder: 'PATH', help: 'data' },
  { name: 'limit', type: 'int', min: 1, help: 'limit' },
  { name: 'lambda', type: 'number', default: 1, help: 'lambda' },
  { name: 'image', type: 'string', multiple: true, help: 'images' },
  { name: 'task', type: 'string', choices: ['pairs', 'retrieval'], default: 'pairs', help: 'task' },
  { name: 'strict', type: 'boolean', help: 'strict' },
];

describe('cli/args parseFlags', () => {
  it('reads --k v, --k=v, booleans, repeatable flags and defaults', () => {
    const f = parseFlags(['--data', 'x.json', '--limit=5', '--image', 'a.png', '--image=b.png', '--strict'], SPECS);
    expect(f).to.deep.include({ data: 'x.json', limit: 5, lambda: 1, task: 'pairs', strict: true, image: ['a.png', 'b.png'] });
    expect(f._).to.deep.equal([]);
  });
  it('negative numbers are values, not flags', () => {
    expect(parseFlags(['--data', 'd', '--lambda', '-0.5'], SPECS).lambda).to.equal(-0.5);
  });
  it('--help skips the required-flag check', () => {
    expect(parseFlags(['--help'], SPECS).help).to.equal(true);
    expect(parseFlags(['-h'], SPECS).help).to.equal(true);
  });
  const bad: [string, string[], RegExp][] = [
    ['unknown flag, with a suggestion', ['--data', 'd', '--limt', '3'], /--limt: unknown option \(did you mean --limit\?\)/],
    ['missing value', ['--data'], /--data: needs a value/],
    ['not an integer', ['--data', 'd', '--limit', '2.5'], /--limit: expected an integer/],
    ['below the minimum', ['--data', 'd', '--limit', '0'], /--limit: must be at least 1/],
    ['not a number', ['--data', 'd', '--lambda', 'abc'], /--lambda: expected a number/],
    ['bad choice', ['--data', 'd', '--task', 'rank'], /--task: expected one of pairs, retrieval/],
    ['missing required flag', [], /--data: is required/],
    ['stray positional word', ['--data', 'd', 'extra'], /extra: unexpected argument/],
    ['single-dash option', ['--data', 'd', '-x'], /-x: unknown option/],
    ['flag given twice', ['--data', 'd', '--data', 'e'], /--data: given more than once/],
    ['boolean with a bad value', ['--data', 'd', '--strict=yes'], /expected true or false/],
  ];
  for (const [name, argv, re] of bad) {
    it(`usage error: ${name}`, () => {
      expect(() => parseFlags(argv, SPECS)).to.throw(UsageError, re);
    });
  }
  it('positionals are collected when the command allows them', () => {
    expect(parseFlags(['--data', 'd', 'topK=1,2'], SPECS, { positionals: true })._).to.deep.equal(['topK=1,2']);
  });
  it('help text lists every flag with its placeholder, default and the global flags', () => {
    const h = formatHelp('eval', 'summary', 'abe-clip eval …', SPECS, 'Examples:\n  x');
    expect(h).to.match(/--data PATH\s+data \(required\)/);
    expect(h).to.match(/--lambda NUMBER\s+lambda \(default 1\)/);
    expect(h).to.match(/--image STRING\s+images \(repeatable\)/);
    expect(h).to.contain('--debug').and.contain('--backend').and.contain('Examples:');
  });
});
