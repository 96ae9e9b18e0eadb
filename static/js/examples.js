// Example inputs per model. A page's example set is keyed by model family first, then by architecture:
//  - 'english-gpt' (and its removal variants english-gpt-short-*): the default model, byte-level BPE on real
//    English; any sentence works, so the examples are ordinary sentences, one with a repeated passage (the
//    attention grid then shows which heads look back at the earlier copy),
//  - 'decoder' / 'encoder_decoder': the course's word-level models (tiny-gpt reads English with relative clauses,
//    tiny-translator the English side of its English → French-like pairs; its decoder input is the French written
//    so far), and the fallback for a Hugging Face model of that architecture,
//  - 'encoder' (BERT-style, masked-LM head): a sentence with the tokenizer's mask token.
// page.js swaps the example when the model changes, but never touches text the user typed.

export const ENGLISH = {
  // A repeated passage: the second copy's tokens can find the same tokens in the first copy.
  repeat: 'The lamp on the harbour wall went out at midnight. The lamp on the harbour wall went out at midnight.',
  plain: 'My sister bought a blue bicycle last week, and she rides it to the market every morning.',
  prompt: 'After the dinner party, the two sisters walked home through the park and',
};

export const EXAMPLES = {
  'english-gpt': { text: ENGLISH.plain, target: '' },
  decoder: { text: 'the cat that the dogs see runs', target: '' },
  encoder_decoder: { text: 'the big cat sees the red car .', target: 'le chat grand voit la voiture' },
  encoder: { text: 'The children walked to the [MASK] after school.', target: '' },
};

export const MASK_EXAMPLES = {
  'english-gpt': { text: 'The train left the station before the rain started.', target: '' },
  decoder: { text: 'the cat sees the dog <pad> <pad>', target: '' },
  encoder_decoder: { text: 'the big cat sees the red car .', target: 'le chat grand voit <pad> <pad>' },
  encoder: { text: 'The children walked to the [MASK] after school.', target: '' },
};

/** The family key of a model id in `examples`: the id itself, or the longest key it starts with plus '-'. */
export function familyOf(examples, modelId) {
  if (!modelId) return null;
  if (examples[modelId]) return modelId;
  const keys = Object.keys(examples).filter((k) => modelId.startsWith(`${k}-`)).sort((a, b) => b.length - a.length);
  return keys[0] || null;
}

/** The example {text, target} for a model: its family's, else its architecture's, else the decoder one. */
export function exampleFor(examples, modelId, arch) {
  const fam = familyOf(examples, modelId);
  return (fam && examples[fam]) || examples[arch] || examples.decoder;
}
