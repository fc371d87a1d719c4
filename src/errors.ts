/**
 * Every error this library throws on bad input is one of these classes. Each names the input it was
 * reading (a file path, `<buffer>`, an argument name) and the problem, so a user scoring 100k files can tell
 * which file is broken and why without a stack trace.
 */
export class AbeClipError extends Error {
  /** Stable machine-readable code, e.g. `WEIGHTS_FORMAT`. */
  readonly code: string;
  /** The file, buffer label or argument the problem was found in. */
  readonly source: string;
  readonly problem: string;
  constructor(code: string, source: string, problem: string) {
    super(`${source}: ${problem}`);
    this.name = new.target.name;
    this.code = code;
    this.source = source;
    this.problem = problem;
  }
}

/** A checkpoint, manifest or shard is malformed, inconsistent or unsupported. */
export class WeightsFormatError extends AbeClipError {
  constructor(source: string, problem: string) {
    super('WEIGHTS_FORMAT', source, problem);
  }
}

/** A pickle asks for something the restricted unpickler refuses (a global, an opcode). */
export class UnsafePickleError extends AbeClipError {
  constructor(source: string, problem: string) {
    super('UNSAFE_PICKLE', source, problem);
  }
}

/** An image cannot be decoded (truncated, corrupt, not an image, unsupported format). */
export class ImageDecodeError extends AbeClipError {
  constructor(source: string, problem: string) {
    super('IMAGE_DECODE', source, problem);
  }
}

/** A configured limit was exceeded (image pixels, caption length, header size, batch memory). */
export class LimitError extends AbeClipError {
  constructor(source: string, problem: string) {
    super('LIMIT', source, problem);
  }
}

/** Text the tokenizer cannot accept (not a string, too long without truncation). */
export class TokenizerError extends AbeClipError {
  constructor(source: string, problem: string) {
    super('TOKENIZER', source, problem);
  }
}

/** A tensor or value passed to the API has the wrong rank, size, dtype or range. */
export class InputError extends AbeClipError {
  constructor(source: string, problem: string) {
    super('INPUT', source, problem);
  }
}

/** An options object has an unknown key or an out-of-range value. */
export class OptionsError extends AbeClipError {
  constructor(source: string, problem: string) {
    super('OPTIONS', source, problem);
  }
}

/** A dataset file is in the wrong format (names the line or field). */
export class DatasetError extends AbeClipError {
  constructor(source: string, problem: string) {
    super('DATASET', source, problem);
  }
}

/** A computation produced NaN or ±Inf (e.g. a score): never reported as a result. */
export class NumericalError extends AbeClipError {
  constructor(source: string, problem: string) {
    super('NUMERICAL', source, problem);
  }
}

/** The command line is wrong (unknown flag, missing argument). Exit code 2. */
export class UsageError extends AbeClipError {
  constructor(source: string, problem: string) {
    super('USAGE', source, problem);
  }
}

/** Name of every typed error class, for documentation and fuzz properties. */
export const ERROR_CLASSES = [
  WeightsFormatError,
  UnsafePickleError,
  ImageDecodeError,
  LimitError,
  TokenizerError,
  InputError,
  OptionsError,
  DatasetError,
  NumericalError,
  UsageError,
] as const;

export function isTypedError(e: unknown): e is AbeClipError {
  return e instanceof AbeClipError;
}
