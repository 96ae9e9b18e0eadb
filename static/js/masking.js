// /components/masking: the same layer re-run under each mask (POST /api/v1/masked-attention): which
// query/key pairs are allowed, and the attention pattern that results.
import { modelInfo, postJSON } from './api.js';
import { el } from './dom.js';
import { MASK_EXAMPLES } from './examples.js';
import { heatmap } from './heatmap.js';
import { $, choose, startPage } from './page.js';
import { showUnknown } from './unk.js';
import { param } from './url-state.js';

const MASKS = [
  ['causal', 'Causal: each position sees itself and earlier positions (decoders, text generation).'],
  ['padding', 'Padding: every position sees every real token; <pad> tokens are hidden (encoders, batches of unequal length).'],
  ['none', 'None: every position sees every position.'],
];

async function run(page) {
  const { model, text, target } = page.state;
  const info = await modelInfo(model);
  const n = info.config.n_layers;
  const stack = info.arch === 'encoder_decoder' ? 'decoder' : 'blocks';
  const layers = Array.from({ length: n }, (_, i) => i);
  const layer = choose(page, 'layer', $('layer'), layers, layers.map((i) => `${stack}.${i}`));
  const heads = Array.from({ length: info.config.n_heads }, (_, i) => i);
  const h = choose(page, 'head', $('head'), heads, heads.map((i) => `head ${i}`));
  $('target-label').hidden = info.arch !== 'encoder_decoder';
  const body = { model, text, layer };
  if (info.arch === 'encoder_decoder') body.target = target;
  const outs = await Promise.all(MASKS.map(([mask]) => postJSON('/api/v1/masked-attention', { ...body, mask })));
  const draws = [];
  $('mask-grid').replaceChildren(...outs.map((out, i) => {
    const own = out.mask === info.config.self_attn_mask;
    const allowed = el('div', { className: 'plot allowed' });
    const pattern = el('div', { className: 'plot pattern' });
    const card = el('section', { className: 'card mask-row', dataset: { mask: out.mask } }, [
      el('h2', { textContent: `${out.mask}${own ? ' — the mask this model was trained with' : ''}` }),
      el('p', { className: 'muted', textContent: MASKS[i][1] }),
      el('div', { className: 'two-col' }, [allowed, pattern])]);
    draws.push([allowed, pattern, out]);
    return card;
  }));
  await Promise.all(draws.flatMap(([allowed, pattern, out]) => [
    heatmap(allowed, { z: out.allowed.map((r) => r.map((v) => (v ? 1 : 0))), x: out.tokens, y: out.tokens, xTokens: true, yTokens: true,
      title: `Which keys each query may see (${out.mask} mask)`, xTitle: 'key', yTitle: 'query', zmin: 0, zmax: 1,
      colorbar: ['allowed', '1 = seen, 0 = hidden'], colorscale: [[0, '#f7f7f7'], [1, '#31688e']], filename: `mask-${out.mask}-allowed` }),
    heatmap(pattern, { z: out.pattern[h], x: out.tokens, y: out.tokens, xTokens: true, yTokens: true,
      title: `Attention pattern, head ${h}, under this mask`, hook: `${out.layer_name}.hook_pattern`,
      xTitle: 'key', yTitle: 'query', zmin: 0, zmax: 1, showValues: out.tokens.length <= 12,
      colorbar: ['attention weight', '0 to 1'], filename: `mask-${out.mask}-pattern` }),
  ]));
  showUnknown(outs[0].tokens);
  $('status').textContent = `${model}: ${outs[0].layer_name}, ${outs[0].tokens.length} tokens`;
}

const page = startPage({ params: { model: param.model(), text: param.text(), target: param.text(),
  layer: param.int(0, { min: 0 }), head: param.int(0, { min: 0 }) }, fields: { layer: 'layer', head: 'head' },
rerun: ['layer', 'head'], examples: MASK_EXAMPLES, run });
page.run();
