// Example inputs in each model's own vocabulary: tiny-gpt reads English with relative clauses, tiny-translator
// reads the English side of its English → French-like pairs (its decoder input is the French written so far).
// page.js swaps the example when the model changes, but never touches text the user typed.
export const EXAMPLES = {
  decoder: { text: 'the cat that the dogs see runs', target: '' },
  encoder_decoder: { text: 'the big cat sees the red car .', target: 'le chat grand voit la voiture' },
};

export const MASK_EXAMPLES = {
  decoder: { text: 'the cat sees the dog <pad> <pad>', target: '' },
  encoder_decoder: { text: 'the big cat sees the red car .', target: 'le chat grand voit <pad> <pad>' },
};
