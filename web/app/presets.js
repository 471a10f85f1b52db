// Model presets shipped in web/presets/: the Hugging Face config.json
// RoPE fields of each model. The page starts on DEFAULT_PRESET.

export const PRESETS = Object.freeze([
  { id: 'llama-3.1-8b', label: 'Llama 3.1 8B (llama3)' },
  { id: 'llama-2-7b', label: 'Llama 2 7B (default)' },
  { id: 'llama-2-7b-dynamic-ntk', label: 'Llama 2 7B (dynamic NTK)' },
  { id: 'vicuna-13b-v1.5-16k-linear', label: 'Vicuna 13B v1.5 16k (linear)' },
  { id: 'qwen3-8b', label: 'Qwen3 8B (default)' },
  { id: 'qwen2.5-7b-yarn', label: 'Qwen2.5 7B (YaRN)' },
  { id: 'phi-3-vision-128k', label: 'Phi-3 Vision 128k (longrope)' },
  { id: 'phi-2', label: 'Phi-2 (partial rotary 0.4)' },
  { id: 'gpt-neox-20b', label: 'GPT-NeoX 20B (rotary_pct 0.25)' },
  { id: 'gpt-j-6b', label: 'GPT-J 6B (interleaved)' },
]);

export const DEFAULT_PRESET = 'llama-3.1-8b';

const cache = new Map();

/** Fetches a preset's config.json object (once per page). */
export function loadPresetConfig(id) {
  if (!PRESETS.some((preset) => preset.id === id)) {
    return Promise.reject(new RangeError(`unknown preset ${JSON.stringify(id)}`));
  }
  if (!cache.has(id)) {
    const promise = fetch(new URL(`../presets/${id}.json`, import.meta.url)).then((response) => {
      if (!response.ok) throw new Error(`fetching preset ${id} failed with HTTP ${response.status}`);
      return response.json();
    });
    promise.catch(() => cache.delete(id));
    cache.set(id, promise);
  }
  return cache.get(id);
}
