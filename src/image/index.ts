/** Image decoding and CLIP preprocessing (PIL/torchvision-exact). */
export { CLIP_MEAN, CLIP_STD } from './constants';
export { decodeImage, decodeBytes } from './decode';
export type { DecodedImage, DecodeOptions, PilMode } from './decode';
export { readHeader, sniffFormat } from './header';
export type { ImageFormat, ImageHeader } from './header';
export { preprocess, fromRGBA, resizedSize, cropOffsets } from './preprocess';
export type { PreprocessOptions, Triple } from './preprocess';
export { resizeBicubic, resizeNearest } from './resize';
export type { Raster, Window } from './resize';
export { loadImages, sourceLabel } from './loader';
export type { LoadImagesOptions, LoadedImages, LoadError, ImageInput } from './loader';
