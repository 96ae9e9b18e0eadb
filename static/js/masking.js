// /components/masking: the same layer re-run under each mask (POST /api/v1/masked-attention): which
// query/key pairs are allowed, and the attention pattern that results.
import { modelInfo, postJSON } from './api.js';
import { heatmap } from './heatmap.js';
import { MASK_EXAMPLES } from './examples.js';
import { setOptions } from './dom.js';
import { $, bootPage, runPage } from './page.js';
import { showUnknown } from './unk.js';

const MASKS = [
  ['causal', 'Causal: each position sees itself and earlier positions (decoders, text generation).'],
  ['padding', 'Padding: every position sees every real token; <pad> tokens are hidden (encoders, batches of unequal length).'],
  ['none', 'None: every position sees every position.'],
];
let info = null;

async function loadInfo(id) {
  info = await modelInfo(id);
  const n = info.config.n_layers;
  const keepL = $('layer').value; const keepH = $('head').value;
  const layers = Array.from({ length: n }, (_, i) => i);
  setOptions($('layer'), layers, layers.map((i) => `${info.arch === 'encoder_decoder' ? 'decoder' : 'blocks'}.${i}`));
  const heads = Array.from({ length: info.config.n_heads }, (_, i) => i);
  setOptions($('head'), heads, heads.map((i) => `head ${i}`));
  if (keepL && Number(keepL) < n) $('layer').value = keepL;
  if (keepH && Number(keepH) < info.config.n_heads) $('head').value = keepH;
  $('target-label').hidden = info.arch !== 'encoder_decoder';
}

function run() {
  return runPage(async () => {
    const id = $('model').value;
    if (!info || info.id !== id) await loadInfo(id);
    const h = Number($('head').value);
    const body = { model: id, text: $('text').value, layer: Number($('layer').value) };
    if (info.arch === 'encoder_decoder') body.target = $('target').value;
    const outs = await Promise.all(MASKS.map(([mask]) => postJSON('/api/v1/masked-attention', { ...body, mask })));
    const grid = $('mask-grid');
    grid.replaceChildren();
    outs.forEach((out, i) => {
      const own = out.mask === info.config.self_attn_mask;
      const card = document.createElement('section');
      card.className = 'card mask-row';
      card.dataset.mask = out.mask;
      const h2 = document.createElement('h2');
      h2.textContent = `${out.mask}${own ? ' — the mask this model was trained with' : ''}`;
      const p = document.createElement('p');
      p.className = 'muted';
      p.textContent = MASKS[i][1];
      const plots = document.createElement('div');
      plots.className = 'two-col';
      for (const cls of ['allowed', 'pattern']) {
        const d = document.createElement('div');
        d.className = `plot ${cls}`;
        plots.appendChild(d);
      }
      card.append(h2, p, plots);
      grid.appendChild(card);
      const toks = out.tokens.map((t, j) => `${j}:${t}`);
      heatmap(card.querySelector('.allowed'), { z: out.allowed.map((r) => r.map((v) => (v ? 1 : 0))), x: toks, y: toks,
        title: 'allowed (1) / hidden (0)', xTitle: 'key', yTitle: 'query', zmin: 0, zmax: 1 });
      heatmap(card.querySelector('.pattern'), { z: out.pattern[h], x: toks, y: toks, title: `${out.layer_name}.hook_pattern, head ${h}`,
        xTitle: 'key', yTitle: 'query', zmin: 0, zmax: 1, showValues: toks.length <= 12 });
    });
    showUnknown(outs[0].tokens);
    $('status').textContent = `${id}: ${outs[0].layer_name}, ${outs[0].tokens.length} tokens`;
  });
}

bootPage({ run, examples: MASK_EXAMPLES });
$('layer').addEventListener('change', run);
$('head').addEventListener('change', run);
run();
