// Client-side mirror of model/sampling.py filter_logits, i.e. of transformers' warpers (keep the two in step):
//   1. scores = (logits - max) / temperature, base = softmax(scores)   (double precision)
//   2. top-k: drop every token whose score is below the k-th highest; every token tied with the k-th stays
//      (so more than k can survive); the removed mass is cut_by_top_k
//   3. top-p: walk the survivors from least to most probable (ties in increasing id, as torch.sort orders up to
//      16 elements), accumulating their renormalised probability; drop each token while that sum is <= 1 - top_p;
//      the most probable token always stays. The removed mass (at this temperature, before renormalising) is
//      cut_by_top_p
//   4. renormalise; entropy in nats of the result
// Where the top-p cut falls inside a group of more than 16 exactly tied tokens, torch.sort may order that group
// otherwise on the server: the page then keeps other members of the group (the same number, the same mass).
// Sums are taken in another order than torch's, so a cut can differ only where a cumulative sum lies within
// rounding (~1e-16) of 1 - top_p.
// The ranking of tokens by probability does not depend on the temperature (softmax is monotonic), so it is
// computed once per logits array (rankByLogit) and each slider move is O(vocab) with no sort.

/** Token ids ordered by logit, highest first, ties by the lower id (the server's candidate order; used for display and sampling). */
export function rankByLogit(logits) {
  const n = logits.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i += 1) order[i] = i;
  // Float64Array keys let the comparator stay branch-light; sort() on a typed array with a comparator is stable.
  const key = Float64Array.from(logits);
  order.sort((a, b) => (key[b] - key[a]) || (a - b));
  return order;
}

export function checkParams(temperature, topK, topP) {
  if (!(Number.isFinite(temperature) && temperature > 0)) throw new Error(`temperature must be a finite number > 0, got ${temperature}`);
  if (topK !== null && topK !== undefined && !(topK >= 1)) throw new Error(`top_k must be >= 1, got ${topK}`);
  if (topP !== null && topP !== undefined && !(topP > 0 && topP <= 1)) throw new Error(`top_p must be in (0, 1], got ${topP}`);
}

/**
 * filterLogits(logits, {temperature, topK, topP}, order?) ->
 *   {base, probs, keep, order, cutByTopK, cutByTopP, entropy, kept}
 * base: softmax at the temperature before the filters; probs: the final distribution (0 where removed);
 * keep: Uint8Array of survivors; kept: how many survived.
 */
export function filterLogits(logits, { temperature = 1, topK = null, topP = null } = {}, order = null) {
  checkParams(temperature, topK, topP);
  const n = logits.length;
  const ord = order || rankByLogit(logits);
  let maxLogit = -Infinity;
  for (let i = 0; i < n; i += 1) if (logits[i] > maxLogit) maxLogit = logits[i];
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i += 1) scores[i] = (logits[i] - maxLogit) / temperature;
  const base = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i += 1) { const e = Math.exp(scores[i]); base[i] = e; sum += e; }
  for (let i = 0; i < n; i += 1) base[i] /= sum;

  const keep = new Uint8Array(n).fill(1);
  let cutByTopK = 0;
  let cutByTopP = 0;
  // survivors of top-k are the first nK of the ranking: the k-th and everything tied with it
  let nK = n;
  if (topK !== null && topK !== undefined && topK < n) {
    const kth = scores[ord[topK - 1]];
    nK = topK;
    while (nK < n && scores[ord[nK]] >= kth) nK += 1;
    for (let r = nK; r < n; r += 1) { const i = ord[r]; keep[i] = 0; cutByTopK += base[i]; }
  }
  if (topP !== null && topP !== undefined && topP < 1) {
    let keptMass = 0;
    for (let r = 0; r < nK; r += 1) keptMass += base[ord[r]];
    // ascending walk: groups of equal score from the least probable, each group in increasing id (the ranking
    // lists a group in increasing id too, so a group is walked forwards while the groups are walked backwards)
    let cum = 0;
    let end = nK;
    let stop = false;
    while (end > 0 && !stop) {
      let start = end - 1;
      while (start > 0 && scores[ord[start - 1]] === scores[ord[end - 1]]) start -= 1;
      for (let r = start; r < end; r += 1) {
        const i = ord[r];
        cum += base[i] / keptMass;
        const last = start === 0 && r === end - 1;  // the most probable token: always kept
        if (last || cum > 1 - topP) { stop = true; break; }
        keep[i] = 0;
        cutByTopP += base[i];
      }
      end = start;
    }
  }
  const probs = new Float64Array(n);
  let keptSum = 0;
  let kept = 0;
  for (let r = 0; r < nK; r += 1) { const i = ord[r]; if (keep[i]) { keptSum += base[i]; kept += 1; } }
  let entropy = 0;
  for (let r = 0; r < nK; r += 1) {
    const i = ord[r];
    if (!keep[i]) continue;
    const p = base[i] / keptSum;
    probs[i] = p;
    if (p > 0) entropy -= p * Math.log(p);
  }
  return { base, probs, keep, order: ord, cutByTopK, cutByTopP, entropy, kept };
}

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence of numbers in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draw one id from `probs` (walking the ranking, skipping removed tokens) with the uniform number u in [0, 1). */
export function sampleIndex(probs, order, u) {
  let acc = 0;
  let lastPositive = order[0];
  for (let r = 0; r < order.length; r += 1) {
    const i = order[r];
    if (probs[i] <= 0) continue;  // removed (a top-p cut inside a group of ties can leave gaps in the ranking)
    lastPositive = i;
    acc += probs[i];
    if (u < acc) return i;
  }
  return lastPositive;
}
