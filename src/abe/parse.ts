/**
 * The bridge to src/text: token ids as `clip.tokenize` (SOT, BPE, EOT, zero padding; truncated captions keep
 * EOT last) and group token positions from the phrase parser.
 */
import { InputError } from '../errors';
import { VOCAB_SIZE } from '../text/constants';
import { groupTokenPositions, parsePhrases, PhraseGroup, SimpleGroup } from '../text/phrases';
import { tokenizeToArrays } from '../text/tokenize';
import type { GroupSpec, PreparedCaption, ResolvedGroup } from './caption-types';

/** Ids [L] of a caption as `clip.tokenize(truncate=True)`. */
export function captionIds(text: string, L: number): Int32Array {
  return tokenizeToArrays([text], { contextLength: L, truncate: true })[0];
}

function checkIds(ids: ArrayLike<number>, L: number, where: string): Int32Array {
  if (!ids || typeof ids.length !== 'number') throw new InputError(`${where}.ids`, 'must be an array of token ids');
  if (ids.length < 2 || ids.length > L)
    throw new InputError(`${where}.ids`, `has ${ids.length} ids, expected 2..${L} (the context length)`);
  const out = new Int32Array(L);
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    if (!Number.isInteger(v) || v < 0 || v >= VOCAB_SIZE) throw new InputError(`${where}.ids[${i}]`, `${String(v)} is not a token id`);
    out[i] = v;
  }
  return out;
}

/** Last content position (the one before EOT). */
function lastContent(ids: Int32Array): number {
  let eot = 0;
  for (let i = 1; i < ids.length; i++) if (ids[i] > ids[eot]) eot = i;
  return eot - 1;
}

export function resolveGroups(
  text: string,
  groups: GroupSpec[] | undefined,
  ids: ArrayLike<number> | undefined,
  L: number,
  where: string,
): PreparedCaption {
  const tokenIds = ids !== undefined ? checkIds(ids, L, where) : captionIds(text, L);
  const limit = lastContent(tokenIds);
  const resolved: ResolvedGroup[] = [];
  let dropped = 0;
  if (groups && groups.every((g) => g.positions !== undefined)) {
    for (const g of groups) {
      if (g.objectLast! > limit || g.positions!.some((p) => p > limit)) {
        dropped++;
        continue;
      }
      resolved.push({ attributes: g.attributes, object: g.object, positions: g.positions!, objectLast: g.objectLast! });
    }
  } else {
    if (groups && groups.some((g) => g.positions !== undefined))
      throw new InputError(`${where}.groups`, 'give positions for every group or for none');
    const spans: (PhraseGroup | SimpleGroup)[] = groups ?? parsePhrases(text);
    const words = spans.map((g) =>
      groups
        ? (g as SimpleGroup)
        : {
            attributes: (g as PhraseGroup).attributes.map((a) => a.text),
            object: (g as PhraseGroup).object.text,
          },
    );
    const pos = groupTokenPositions(text, spans, L);
    pos.forEach((g, k) => {
      if (g.truncated || g.objectLast === null || g.objectLast > limit) {
        dropped++;
        return;
      }
      resolved.push({ attributes: [...words[k].attributes], object: words[k].object, positions: g.positions, objectLast: g.objectLast });
    });
  }
  return { text, ids: tokenIds, groups: resolved, dropped };
}
