// Float64 reference formulas written in plain JavaScript, independent of the
// WebAssembly core, so every panel can print how far the module's numbers
// are from them. No DOM: this file runs in a browser and under node.
//
// Formulas and sources:
//   default   theta_i = base^(-2i/d)                       RoFormer, Su et al. 2021, eq. 15
//   linear    theta_i / s                                  position interpolation, Chen et al. 2023
//   dynamic   base' = base * (s*L/Lmax - (s - 1))^(d/(d-2)) for L > Lmax
//                                                          transformers _compute_dynamic_ntk_parameters
//   yarn      ramp over the pair index between dim(beta_fast) and dim(beta_slow),
//             dim(b) = d * ln(L / (2 pi b)) / (2 ln base); attention 0.1 ln s + 1
//                                                          Peng et al. 2023
//   llama3    wavelength bands L/high .. L/low, smooth blend inside (edges included)
//                                                          Meta Llama 3.1 reference code
//   longrope  theta_i / ext_i, ext = long list above the original context, else short;
//             attention sqrt(1 + ln s / ln L)              Ding et al. 2024
//   rotation  (a, b) -> s*(a cos phi - b sin phi, a sin phi + b cos phi), phi = m*theta_i

export const TWO_PI = 2 * Math.PI;

/** theta_i = base^(-2i/d) for i = 0 .. d/2 - 1, as a Float64Array. */
export function defaultInvFreq(base, rotaryDim) {
  const out = new Float64Array(rotaryDim / 2);
  for (let i = 0; i < out.length; i++) out[i] = base ** (-(2 * i) / rotaryDim);
  return out;
}

/** Returns the context the original model was trained on, for yarn and longrope. */
export function originalContext(options) {
  return options.originalMaxPositionEmbeddings ?? options.maxPositionEmbeddings;
}

/** YaRN: pair index where a pair completes `turns` full turns within `context` tokens. */
export function yarnCorrectionDim(turns, rotaryDim, base, context) {
  return (rotaryDim * Math.log(context / (turns * TWO_PI))) / (2 * Math.log(base));
}

/** YaRN ramp edges {low, high} in pair-index units, after truncation and clamping. */
export function yarnRamp(options) {
  const d = options.rotaryDim;
  const context = originalContext(options);
  let low = yarnCorrectionDim(options.betaFast ?? 32, d, options.base, context);
  let high = yarnCorrectionDim(options.betaSlow ?? 1, d, options.base, context);
  if (options.truncate ?? true) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  low = Math.max(low, 0);
  high = Math.min(high, d - 1);
  if (low === high) high += 0.001;
  return { low, high };
}

/** Llama 3: wavelength thresholds {high: L/high_freq_factor, low: L/low_freq_factor}. */
export function llama3Band(options) {
  const L = options.originalMaxPositionEmbeddings;
  return { highFreqWavelength: L / options.highFreqFactor, lowFreqWavelength: L / options.lowFreqFactor };
}

function yarnMscale(scale, mscale) {
  return scale <= 1 ? 1 : 0.1 * mscale * Math.log(scale) + 1;
}

/** Returns the factor every cos and sin carries (1 for types without attention scaling). */
export function referenceAttentionScaling(options) {
  if (options.ropeType === 'yarn') {
    if (options.attentionFactor !== undefined) return options.attentionFactor;
    if (options.mscale && options.mscaleAllDim) {
      return yarnMscale(options.factor, options.mscale) / yarnMscale(options.factor, options.mscaleAllDim);
    }
    return yarnMscale(options.factor, 1);
  }
  if (options.ropeType === 'longrope') {
    if (options.attentionFactor !== undefined) return options.attentionFactor;
    const scale = options.originalMaxPositionEmbeddings !== undefined
      ? options.maxPositionEmbeddings / options.originalMaxPositionEmbeddings
      : options.factor;
    if (scale <= 1) return 1;
    return Math.sqrt(1 + Math.log(scale) / Math.log(originalContext(options)));
  }
  return 1;
}

/**
 * Frequencies for validated createRope options (rope.options) and a sequence
 * length; seqLen matters to dynamic and longrope only and defaults to the
 * original context, as rope.invFreq() does.
 */
export function referenceInvFreq(options, seqLen) {
  const d = options.rotaryDim;
  const L = seqLen ?? options.originalMaxPositionEmbeddings ?? options.maxPositionEmbeddings ?? 1;
  const theta = defaultInvFreq(options.base, d);
  switch (options.ropeType) {
    case 'linear':
      return theta.map((x) => x / options.factor);
    case 'dynamic': {
      if (L <= options.maxPositionEmbeddings) return theta;
      const growth = (options.factor * L) / options.maxPositionEmbeddings - (options.factor - 1);
      return defaultInvFreq(options.base * growth ** (d / (d - 2)), d);
    }
    case 'yarn': {
      const { low, high } = yarnRamp(options);
      return theta.map((x, i) => {
        const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
        return (x / options.factor) * ramp + x * (1 - ramp);
      });
    }
    case 'llama3': {
      const { highFreqWavelength, lowFreqWavelength } = llama3Band(options);
      const context = options.originalMaxPositionEmbeddings;
      return theta.map((x) => {
        const wavelength = TWO_PI / x;
        if (wavelength < highFreqWavelength) return x;
        if (wavelength > lowFreqWavelength) return x / options.factor;
        const smooth = (context / wavelength - options.lowFreqFactor) / (options.highFreqFactor - options.lowFreqFactor);
        return ((1 - smooth) * x) / options.factor + smooth * x;
      });
    }
    case 'longrope': {
      const ext = L > originalContext(options) ? options.longFactor : options.shortFactor;
      return theta.map((x, i) => x / ext[i]);
    }
    default:
      return theta;
  }
}

/** Returns the two slots pair i rotates: half (i, i + d/2) or interleaved (2i, 2i + 1). */
export function pairSlots(i, rotaryDim, pairing) {
  return pairing === 'interleaved' ? [2 * i, 2 * i + 1] : [i, i + rotaryDim / 2];
}

/** Rotates a copy of `vector` to `position` in float64; slots past rotaryDim pass through. */
export function rotateReference(vector, position, theta, rotaryDim, pairing, scale = 1) {
  const out = Float64Array.from(vector);
  for (let i = 0; i < theta.length; i++) {
    const [a, b] = pairSlots(i, rotaryDim, pairing);
    const phi = position * theta[i];
    const c = Math.cos(phi);
    const s = Math.sin(phi);
    out[a] = scale * (vector[a] * c - vector[b] * s);
    out[b] = scale * (vector[a] * s + vector[b] * c);
  }
  return out;
}

/** max_i |a_i - b_i| / |b_i| (relative deviation; b_i = 0 compares absolutely). */
export function maxRelativeDeviation(a, b) {
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    const scale = Math.abs(b[i]) || 1;
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / scale);
  }
  return worst;
}

/** max_i |a_i - b_i|. */
export function maxAbsoluteDeviation(a, b) {
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** Largest |table - s*cos/sin(p*theta)| over a table of rows `positions`, divided by s. */
export function tableDeviation(table, positions, theta, scale = 1) {
  const n = theta.length;
  let worst = 0;
  for (let row = 0; row < positions.length; row++) {
    for (let i = 0; i < n; i++) {
      const phi = positions[row] * theta[i];
      worst = Math.max(worst,
        Math.abs(table.cos[row * n + i] - scale * Math.cos(phi)),
        Math.abs(table.sin[row * n + i] - scale * Math.sin(phi)));
    }
  }
  return worst / scale;
}
