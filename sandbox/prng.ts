/**
 * A small seeded pseudo-random generator (mulberry32), so that fault injection is reproducible: the same seed
 * gives the same sequence of decisions. Not for anything secret.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit FNV-1a hash: derives one independent stream per (seed, name). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Independent deterministic streams keyed by name: the n-th decision of a stream depends only on seed, name, n. */
export class RandomStreams {
  private readonly streams = new Map<string, () => number>();
  constructor(private readonly seed: number) {}
  next(name: string): number {
    let stream = this.streams.get(name);
    if (stream === undefined) {
      stream = mulberry32((this.seed ^ hash32(name)) >>> 0);
      this.streams.set(name, stream);
    }
    return stream();
  }
}
