/**
 * Captions → token ids and (attribute, object) groups with token positions. Groups come from the phrase
 * parser (src/text/phrases), or from the caller: `{attributes, object}` (positions found in the caption), or
 * fully resolved with `positions` / `objectLast` (and then `ids` may be given too: no tokenizer involved).
 */
import { InputError } from '../errors';
import { checkCaption } from '../text/caption-check';
import { resolveGroups } from './parse';

export type { CaptionInput, GroupSpec, PreparedCaption, ResolvedGroup } from './caption-types';
import type { CaptionInput, GroupSpec, PreparedCaption } from './caption-types';

function checkStrings(xs: unknown, where: string): string[] {
  if (!Array.isArray(xs) || xs.some((x) => typeof x !== 'string')) throw new InputError(where, 'must be an array of strings');
  return xs as string[];
}

function checkGroup(g: unknown, where: string): GroupSpec {
  if (!g || typeof g !== 'object' || Array.isArray(g)) throw new InputError(where, 'a group must be an object {attributes, object}');
  const o = g as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['attributes', 'object', 'positions', 'objectLast'].includes(k))
      throw new InputError(`${where}.${k}`, 'unknown group field (attributes, object, positions, objectLast)');
  }
  if (typeof o.object !== 'string' || !o.object.trim()) throw new InputError(`${where}.object`, 'must be a non-empty string');
  const attributes = o.attributes === undefined ? [] : checkStrings(o.attributes, `${where}.attributes`);
  const out: GroupSpec = { attributes, object: o.object };
  if ((o.positions === undefined) !== (o.objectLast === undefined)) {
    throw new InputError(where, 'give both positions and objectLast, or neither');
  }
  if (o.positions !== undefined) {
    if (!Array.isArray(o.positions) || !o.positions.length || o.positions.some((p) => !Number.isInteger(p) || p < 1)) {
      throw new InputError(`${where}.positions`, 'must be a non-empty array of integer token positions ≥ 1');
    }
    if (!Number.isInteger(o.objectLast) || (o.objectLast as number) < 1)
      throw new InputError(`${where}.objectLast`, 'must be an integer token position ≥ 1');
    out.positions = o.positions as number[];
    out.objectLast = o.objectLast as number;
  }
  return out;
}

/**
 * Validate and resolve every caption. `contextLength` = L; groups reaching past the last non-EOT position
 * are dropped (counted in `dropped`); a caption with no groups scores as CLIP.
 */
export function prepareCaptions(captions: readonly CaptionInput[], contextLength: number, label = 'captions'): PreparedCaption[] {
  if (!Array.isArray(captions)) throw new InputError(label, 'must be an array of captions (strings or {text, groups})');
  return captions.map((c, i) => prepareCaption(c, contextLength, `${label}[${i}]`));
}

/** One caption; `where` names it in errors. */
export function prepareCaption(c: CaptionInput, contextLength: number, where: string): PreparedCaption {
  if (!Number.isInteger(contextLength) || contextLength < 3 || contextLength > 65536)
    throw new InputError('contextLength', `must be an integer in 3..65536, got ${String(contextLength)}`);
  let text: string, groups: GroupSpec[] | undefined, ids: ArrayLike<number> | undefined;
  if (typeof c === 'string') {
    text = c;
  } else if (c && typeof c === 'object' && !Array.isArray(c)) {
    for (const k of Object.keys(c))
      if (!['text', 'groups', 'ids'].includes(k)) throw new InputError(`${where}.${k}`, 'unknown caption field (text, groups, ids)');
    if (typeof c.text !== 'string') throw new InputError(`${where}.text`, 'must be a string');
    text = c.text;
    if (c.groups !== undefined) {
      if (!Array.isArray(c.groups)) throw new InputError(`${where}.groups`, 'must be an array of groups');
      groups = (c.groups as unknown[]).map((g, k) => checkGroup(g, `${where}.groups[${k}]`));
    }
    ids = c.ids;
  } else {
    throw new InputError(where, `expected a string or {text, groups}, got ${c === null ? 'null' : typeof c}`);
  }
  const prepared = resolveGroups(text, groups, ids, contextLength, where);
  // Given ids are checked to fit; a text is cut by captionIds when it needs more than the context.
  prepared.truncated = ids === undefined && checkCaption(text, contextLength).truncated;
  return prepared;
}
