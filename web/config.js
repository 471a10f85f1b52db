// Reads the rotary-embedding fields of a Hugging Face config.json into
// createRope options. Key names follow transformers' model configs,
// including GPT-NeoX (rotary_pct, rotary_emb_base) and GPT-J (rotary_dim,
// n_embd, n_head, n_positions), `rope_scaling` with `rope_type` or the
// legacy `type`, and the newer `rope_parameters` dict.

/** Legacy rope type names and the names they stand for. */
const TYPE_ALIASES = { su: 'longrope' };
// The rope type a config value names: its alias target, else the value.
// Own keys only, so inherited names such as 'toString' stay as given.
const canonicalType = (value) => (typeof value === 'string' && Object.hasOwn(TYPE_ALIASES, value) ? TYPE_ALIASES[value] : value);

/** Model types whose attention pairs slots (2i, 2i+1), as GPT-J does. */
const INTERLEAVED_MODEL_TYPES = new Set(['gptj', 'codegen']);

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function isPlainObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstPresent(...pairs) {
  for (const [source, key, label] of pairs) {
    if (source && source[key] !== undefined && source[key] !== null) {
      return { value: source[key], label };
    }
  }
  return undefined;
}

/**
 * Converts a config.json object to createRope options. Values are passed
 * through unvalidated; `keyNames` maps each option to the config key it
 * came from, so validation errors name the key the user wrote.
 */
export function ropeOptionsFromConfig(config) {
  if (!isPlainObject(config)) {
    throw new TypeError(`config is ${describe(config)}; expected a config.json object`);
  }
  const options = {};
  const keyNames = {};
  const set = (option, found) => {
    if (found === undefined) return;
    options[option] = found.value;
    keyNames[option] = found.label;
  };

  // The scaling dict: the newer rope_parameters, else rope_scaling (may be null).
  let scaling = null;
  let scalingName = 'rope_scaling';
  if (config.rope_parameters !== undefined && config.rope_parameters !== null) {
    scaling = config.rope_parameters;
    scalingName = 'rope_parameters';
  } else if (config.rope_scaling !== undefined && config.rope_scaling !== null) {
    scaling = config.rope_scaling;
  }
  if (scaling !== null && !isPlainObject(scaling)) {
    throw new TypeError(`${scalingName} is ${describe(scaling)}; expected an object or null`);
  }
  scaling ??= {};

  // Rope type: rope_type, or the legacy `type`; they must agree when both are given.
  // Name every option after its config key, so a missing key is reported
  // under the name the user would add.
  Object.assign(keyNames, {
    headDim: 'head_dim',
    rotaryDim: 'rotary_dim',
    partialRotaryFactor: 'partial_rotary_factor',
    base: 'rope_theta',
    maxPositionEmbeddings: 'max_position_embeddings',
    originalMaxPositionEmbeddings: `${scalingName}.original_max_position_embeddings`,
    ropeType: `${scalingName}.rope_type`,
  });

  const typeKey = scaling.rope_type ?? scaling.type;
  if (scaling.rope_type !== undefined && scaling.type !== undefined) {
    const a = canonicalType(scaling.rope_type);
    const b = canonicalType(scaling.type);
    if (a !== b) {
      throw new RangeError(
        `${scalingName}.type is ${describe(scaling.type)} but ${scalingName}.rope_type is ` +
          `${describe(scaling.rope_type)}; give one, or the same value in both`,
      );
    }
  }
  // transformers needs a type for any scaling dict that sets parameters;
  // reading {"factor": 4} as plain RoPE would drop the factor silently.
  const parameterKeys = Object.keys(scaling).filter((key) => !['rope_theta', 'partial_rotary_factor'].includes(key));
  if (typeKey === undefined && parameterKeys.length > 0) {
    throw new RangeError(
      `${scalingName}.rope_type is missing but ${scalingName} sets ${parameterKeys.join(', ')}; ` +
        'expected rope_type (or the legacy type): default, linear, dynamic, yarn, longrope or llama3',
    );
  }
  if (typeKey !== undefined) {
    options.ropeType = canonicalType(typeKey);
    keyNames.ropeType = `${scalingName}.${scaling.rope_type !== undefined ? 'rope_type' : 'type'}`;
  }

  // Head and rotary dims.
  const headDim = firstPresent([config, 'head_dim', 'head_dim']);
  if (headDim !== undefined) {
    set('headDim', headDim);
  } else {
    const hidden = firstPresent([config, 'hidden_size', 'hidden_size'], [config, 'n_embd', 'n_embd']);
    const heads = firstPresent(
      [config, 'num_attention_heads', 'num_attention_heads'],
      [config, 'n_head', 'n_head'],
    );
    if (hidden === undefined || heads === undefined) {
      throw new RangeError(
        'head_dim is missing; expected head_dim, or hidden_size and num_attention_heads ' +
          '(n_embd and n_head for GPT-J)',
      );
    }
    for (const found of [hidden, heads]) {
      if (!Number.isInteger(found.value) || found.value <= 0) {
        const Kind = typeof found.value === 'number' ? RangeError : TypeError;
        throw new Kind(`${found.label} is ${describe(found.value)}; expected a positive integer`);
      }
    }
    if (hidden.value % heads.value !== 0) {
      throw new RangeError(
        `${hidden.label} (${hidden.value}) is not a multiple of ${heads.label} (${heads.value}); ` +
          'give head_dim explicitly',
      );
    }
    options.headDim = hidden.value / heads.value;
    keyNames.headDim = `${hidden.label} / ${heads.label}`;
  }
  set('rotaryDim', firstPresent([config, 'rotary_dim', 'rotary_dim']));
  set(
    'partialRotaryFactor',
    firstPresent(
      [scaling, 'partial_rotary_factor', `${scalingName}.partial_rotary_factor`],
      [config, 'partial_rotary_factor', 'partial_rotary_factor'],
      [config, 'rotary_pct', 'rotary_pct'],
    ),
  );

  set(
    'base',
    firstPresent(
      [scaling, 'rope_theta', `${scalingName}.rope_theta`],
      [config, 'rope_theta', 'rope_theta'],
      [config, 'rotary_emb_base', 'rotary_emb_base'],
    ),
  );
  if (INTERLEAVED_MODEL_TYPES.has(config.model_type)) {
    options.pairing = 'interleaved';
    keyNames.pairing = 'model_type';
  }

  // Context lengths.
  set(
    'maxPositionEmbeddings',
    firstPresent(
      [config, 'max_position_embeddings', 'max_position_embeddings'],
      [config, 'n_positions', 'n_positions'],
    ),
  );
  set(
    'originalMaxPositionEmbeddings',
    firstPresent(
      [scaling, 'original_max_position_embeddings', `${scalingName}.original_max_position_embeddings`],
      [config, 'original_max_position_embeddings', 'original_max_position_embeddings'],
    ),
  );

  // Parameters inside the scaling dict.
  const scalingKeys = {
    factor: 'factor',
    betaFast: 'beta_fast',
    betaSlow: 'beta_slow',
    mscale: 'mscale',
    mscaleAllDim: 'mscale_all_dim',
    attentionFactor: 'attention_factor',
    truncate: 'truncate',
    lowFreqFactor: 'low_freq_factor',
    highFreqFactor: 'high_freq_factor',
    shortFactor: 'short_factor',
    longFactor: 'long_factor',
  };
  for (const [option, key] of Object.entries(scalingKeys)) {
    keyNames[option] = `${scalingName}.${key}`;
    set(option, firstPresent([scaling, key, `${scalingName}.${key}`]));
  }

  Object.defineProperty(options, 'keyNames', { value: keyNames, enumerable: false });
  return options;
}
