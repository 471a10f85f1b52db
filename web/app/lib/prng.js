// Seeded pseudo-random numbers, so every view (and every test) uses the
// same q and k vectors: mulberry32 for uniforms, Box-Muller for normals.

/** Returns a function giving uniform numbers in [0, 1) from a 32-bit seed. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills a new Float32Array of `length` standard normal samples. */
export function normalVector(length, random) {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i += 2) {
    const u = 1 - random(); // in (0, 1], so log(u) is finite
    const v = random();
    const radius = Math.sqrt(-2 * Math.log(u));
    out[i] = radius * Math.cos(2 * Math.PI * v);
    if (i + 1 < length) out[i + 1] = radius * Math.sin(2 * Math.PI * v);
  }
  return out;
}
