// Client-side mirror of model/sampling.py filter_logits (keep the two in step):
//   1. p = softmax(logits / temperature)              (double precision, max subtracted)
//   2. top-k: keep the k most probable tokens, ties broken by the lower id; the removed mass is cut_by_top_k
//   3. top-p: among the kept tokens, renormalised, drop every token whose strictly-more-probable kept mass
//      already reaches top_p (the most probable token always stays); the removed mass (at this temperature,
//      before renormalising) is cut_by_top_p
//   4. renormalise; entropy in nats of the result
// The ranking of tokens by probability does not depend on the temperature (softmax is monotonic), so it is
// computed once per logits array (rankByLogit) and each slider move is O(vocab) with no sort.

/** Token ids ordered by logit, highest first, ties broken by the lower id (= the server's stable sort). */
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
  const base = new Float64Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i += 1) { const v = logits[i] / temperature; base[i] = v; if (v > max) max = v; }
  let sum = 0;
  for (let i = 0; i < n; i += 1) { const e = Math.exp(base[i] - max); base[i] = e; sum += e; }
  for (let i = 0; i < n; i += 1) base[i] /= sum;

  const keep = new Uint8Array(n).fill(1);
  let cutByTopK = 0;
  let cutByTopP = 0;
  let nKeep = n;
  if (topK !== null && topK !== undefined && topK < n) {
    for (let r = topK; r < n; r += 1) { const i = ord[r]; keep[i] = 0; cutByTopK += base[i]; }
    nKeep = topK;
  }
  if (topP !== null && topP !== undefined && topP < 1) {
    // kept tokens are exactly the first nKeep of the ranking
    let keptMass = 0;
    for (let r = 0; r < nKeep; r += 1) keptMass += base[ord[r]];
    // before = cumsum(renorm) - renorm, as in sampling.py: the renormalised mass of the strictly more
    // probable kept tokens. It never decreases, so the dropped tokens are a tail of the ranking.
    let cum = 0;
    let last = nKeep;
    for (let r = 0; r < nKeep; r += 1) {
      const renorm = base[ord[r]] / keptMass;
      cum += renorm;
      if (r > 0 && cum - renorm >= topP) { last = r; break; }
    }
    for (let r = last; r < nKeep; r += 1) { const i = ord[r]; keep[i] = 0; cutByTopP += base[i]; }
    nKeep = last;
  }
  const probs = new Float64Array(n);
  let keptSum = 0;
  for (let r = 0; r < nKeep; r += 1) keptSum += base[ord[r]];
  let entropy = 0;
  for (let r = 0; r < nKeep; r += 1) {
    const i = ord[r];
    const p = base[i] / keptSum;
    probs[i] = p;
    if (p > 0) entropy -= p * Math.log(p);
  }
  return { base, probs, keep, order: ord, cutByTopK, cutByTopP, entropy, kept: nKeep };
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

/** Draw one id from `probs` (walking the ranking) with the uniform number u in [0, 1). */
export function sampleIndex(probs, order, u) {
  let acc = 0;
  let lastPositive = order[0];
  for (let r = 0; r < order.length; r += 1) {
    const i = order[r];
    if (probs[i] <= 0) break;
    lastPositive = i;
    acc += probs[i];
    if (u < acc) return i;
  }
  return lastPositive;
}
