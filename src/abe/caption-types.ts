/** The caption and group types shared by captions.ts and parse.ts (a file of their own, so neither imports the other back). */

export interface GroupSpec {
  attributes: string[];
  object: string;
  /** Token positions of the group's words in the caption's ids (SOT = 0). */
  positions?: number[];
  /** Position of the object's last BPE token. */
  objectLast?: number;
}

export type CaptionInput = string | { text: string; groups?: GroupSpec[]; ids?: ArrayLike<number> };

export interface ResolvedGroup {
  attributes: string[];
  object: string;
  positions: number[];
  objectLast: number;
}

export interface PreparedCaption {
  text: string;
  /** [L] zero-padded ids (L = the model's context length). */
  ids: Int32Array;
  groups: ResolvedGroup[];
  /** Groups dropped because they fall past the context length (truncated caption). */
  dropped: number;
  /** The caption needs more tokens than the context length (its ids are cut; see `truncate` in ScoreOptions). */
  truncated?: boolean;
}
