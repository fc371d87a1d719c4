/** One pairwise item: the model passes it iff S(image, positive) > S(image, negative) (strictly). */
export interface PairItem {
  id: string;
  /** Absolute (or cwd-relative) path of the image file. */
  image: string;
  positive: string;
  negative: string;
  /** The subset the item is reported under (toy: swap-att; SugarCrepe: the file, e.g. swap_att). */
  kind: string;
  /** A second reporting axis (toy: seen / unseen); 'all' when the dataset has none. */
  split: string;
  /** Pixel box cropped from the image before encoding (ARO VG-Attribution). */
  crop?: Crop;
  /** Loader-specific fields carried into the report (ARO attributes, Winoground tags...). */
  meta?: Record<string, unknown>;
}

export interface Crop {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface PairDataset {
  /** Loader name: toy, sugarcrepe, aro-attribution, abc6k, winoground, pairs. */
  name: string;
  /** The file or folder it was read from. */
  source: string;
  items: PairItem[];
  /** Items the loader dropped on purpose (ABC-6K identical pairs), with the reason. */
  dropped?: { reason: string; count: number }[];
}

/** Image–caption retrieval set: each caption belongs to exactly one image. */
export interface RetrievalSet {
  source: string;
  images: string[];
  captions: string[];
  /** Image index of each caption. */
  captionImage: number[];
}
