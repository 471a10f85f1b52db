// Context lengths and pair helpers shared by several panels.

/**
 * Returns {training, extended} context lengths for createRope options, in
 * tokens. training is the length the model was trained on
 * (original_max_position_embeddings, else max_position_embeddings).
 * extended is the length the scaling targets: max_position_embeddings when
 * it exceeds the original context. Otherwise it is training times the factor,
 * as in configs that keep max_position_embeddings at the original length
 * (Vicuna v1.5 16k, linear). It is null for default RoPE or factor 1.
 */
export function contextLengths(options) {
  const training = options.originalMaxPositionEmbeddings ?? options.maxPositionEmbeddings ?? null;
  let extended = null;
  if (options.ropeType !== 'default') {
    if (options.originalMaxPositionEmbeddings !== undefined && options.maxPositionEmbeddings > options.originalMaxPositionEmbeddings) {
      extended = options.maxPositionEmbeddings;
    } else if (training !== null && options.factor > 1) {
      extended = Math.round(training * options.factor);
    }
  }
  return { training, extended };
}

/** Returns the two head dimensions that rotary pair i rotates together. */
export function pairDims(i, rotaryDim, pairing) {
  return pairing === 'interleaved' ? [2 * i, 2 * i + 1] : [i, i + rotaryDim / 2];
}

/** Returns the angle atan2(sin, cos) in [0, 2π). */
export function angleOf(cos, sin) {
  const angle = Math.atan2(sin, cos);
  return angle < 0 ? angle + 2 * Math.PI : angle;
}
