/** CLIP's image normalisation (openai/CLIP `_transform`), the one place these numbers live. */
export const CLIP_MEAN: readonly [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: readonly [number, number, number] = [0.26862954, 0.26130258, 0.27577711];
